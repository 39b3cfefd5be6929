// IRC over WebSocket (IRCv3 WebSocket support, RFC 6455): the upgrade, subprotocol choice, one IRC
// line per message both ways, fragmentation and control frames, origins, refusals as IRC ERROR,
// X-Forwarded-For from a trusted proxy, control frames held to flood control and the sendq, and
// per-address admission before the upgrade.
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { sleep, waitUntil, type RawConfig } from '../support/harness.js';
import { useSession } from '../support/session.js';
import { operConfig, operUp } from '../support/oper.js';
import { maskedFrame, TestWebSocket } from '../support/websocket.js';

const s = useSession();

/** Starts a server with a plain listener and a WebSocket one; returns the WebSocket port. */
async function startWith(ws: RawConfig = {}, patch: RawConfig = {}): Promise<number> {
  const srv = await s.start({
    listen: [
      { address: '127.0.0.1', port: 0 },
      { address: '127.0.0.1', port: 0, websocket: true, ...ws },
    ],
    ...patch,
  });
  return [...srv.server.listeners.values()].find((l) => l.cfg.websocket)!.port;
}

async function open(port: number, opts: Parameters<typeof TestWebSocket.open>[1] = {}): Promise<TestWebSocket> {
  return s.track(await TestWebSocket.open(port, opts));
}

describe('WebSocket listener', () => {
  it('negotiates the subprotocol in the client order and carries one IRC line per message', async () => {
    const port = await startWith();
    for (const [offered, chosen, opcode] of [
      [['binary.ircv3.net', 'text.ircv3.net'], 'binary.ircv3.net', 0x2],
      [['text.ircv3.net', 'binary.ircv3.net'], 'text.ircv3.net', 0x1],
      [['something.else'], undefined, 0x1],
      [[], undefined, 0x1],
    ] as const) {
      const ws = await open(port, { protocols: [...offered] });
      expect(ws.response).toMatch(/^HTTP\/1\.1 101 /);
      const header = /Sec-WebSocket-Protocol: (\S+)/i.exec(ws.response)?.[1];
      expect(header).toBe(chosen);
      await ws.register(`web${opcode}${offered.length}`);
      const texts = ws.messages.map((m) => m.data.toString());
      expect(ws.messages.every((m) => m.opcode === opcode)).toBe(true);
      expect(texts.some((t) => /\r|\n/.test(t))).toBe(false);
      expect(texts.filter((t) => / 00[1-5] /.test(t)).length).toBeGreaterThanOrEqual(5);
    }
  });

  it('talks with plain clients, reassembles fragments, forgives a trailing CRLF and answers PING frames', async () => {
    const port = await startWith();
    const plain = await s.connect('plain');
    const ws = await open(port, { protocols: ['text.ircv3.net'] });
    await ws.register('web');
    ws.send('PRIVMSG plain :hello from the browser');
    await plain.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'hello from the browser' && m.source!.startsWith('web!'));
    plain.send('PRIVMSG web :café ☕');
    const got = await ws.waitFor((t) => t.includes('PRIVMSG web'));
    expect(got.data.toString()).toMatch(/^:plain!\S+ PRIVMSG web :café ☕$/);

    ws.send('PRIVMSG plain :in three pieces', { fragments: 3 });
    await plain.waitFor((m) => m.params[1] === 'in three pieces');
    ws.send('PRIVMSG plain :with crlf\r\n');
    await plain.waitFor((m) => m.params[1] === 'with crlf');
    ws.send('are you there', { opcode: 0x9 });
    const pong = await ws.waitFor((_t, m) => m.opcode === 0xa);
    expect(pong.data.toString()).toBe('are you there');
  });

  it('refuses a message with an LF or CR inside instead of running it as two lines', async () => {
    const port = await startWith();
    const plain = await s.connect('plain');
    const ws = await open(port, { protocols: ['text.ircv3.net'] });
    await ws.register('web');
    const from = plain.mark;
    ws.send('PRIVMSG plain :hi\nNOTICE plain :forged');
    ws.send('PRIVMSG plain :hi\r:irc.test NOTICE plain :forged');
    ws.send('PRIVMSG plain :after');
    await plain.waitFor((m) => m.params[1] === 'after', { from });
    let refusals = 0;
    await ws.waitFor((t) => t.includes('FAIL * INVALID_CHARACTERS') && ++refusals === 2);
    // Nothing of the two refused messages reached the other client.
    expect(plain.lines.slice(from).filter((l) => / (PRIVMSG|NOTICE) plain :(hi|forged)/.test(l))).toEqual([]);
  });

  it('applies the line limit without the CRLF a WebSocket message does not carry', async () => {
    const port = await startWith();
    const plain = await s.connect('plain');
    const ws = await open(port, { protocols: ['text.ircv3.net'] });
    await ws.register('web');
    const prefix = 'PRIVMSG plain :';
    ws.send(prefix + 'x'.repeat(510 - prefix.length));
    await plain.waitFor((m) => m.command === 'PRIVMSG' && m.params[1]!.startsWith('xxx'));
    ws.send(prefix + 'y'.repeat(511 - prefix.length));
    await ws.waitFor((t) => / 417 web /.test(t));
  });

  it('refuses origins that are not allowed, and lets clients without Origin in', async () => {
    const port = await startWith({ origins: ['https://*.example.org'] });
    expect((await open(port, { headers: { Origin: 'https://evil.example.com' } })).response).toMatch(/^HTTP\/1\.1 403 /);
    expect((await open(port, { headers: { Origin: 'https://chat.example.org' } })).response).toMatch(/^HTTP\/1\.1 101 /);
    expect((await open(port)).response).toMatch(/^HTTP\/1\.1 101 /);
  });

  it('answers a request that is not an upgrade with HTTP 426, and closes on an unmasked frame', async () => {
    const port = await startWith();
    const { connect } = await import('node:net');
    const reply = await new Promise<string>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port }, () => sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      let text = '';
      sock.on('data', (d) => (text += d.toString()));
      sock.on('close', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 426 /);

    const ws = await open(port);
    ws.socket.write(Buffer.from([0x81, 0x04, 0x50, 0x49, 0x4e, 0x47])); // "PING", not masked
    const close = await ws.waitFor((_t, m) => m.opcode === 0x8);
    expect(close.data.readUInt16BE(0)).toBe(1002);
    await ws.waitClosed();
  });

  it('closes with 1002 on a continuation without a message, an oversized frame or reserved bits', async () => {
    const port = await startWith();
    const bad: Array<(ws: TestWebSocket) => void> = [
      (ws) => ws.send('orphan', { opcode: 0x0 }),
      (ws) => ws.socket.write(Buffer.from([0x81, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0])), // masked, claims 1 MiB
      (ws) => ws.socket.write(Buffer.from([0xc1, 0x80, 1, 2, 3, 4])), // RSV1 set, empty masked text
    ];
    for (const send of bad) {
      const ws = await open(port);
      await ws.register(`w${bad.indexOf(send)}`);
      send(ws);
      const close = await ws.waitFor((_t, m) => m.opcode === 0x8);
      expect(close.data.readUInt16BE(0)).toBe(1002);
      await ws.waitClosed();
    }
    // The server is fine afterwards.
    await (await open(port)).register('after');
  });

  it('sends refusals after the upgrade as an IRC ERROR message', async () => {
    const port = await startWith({}, { class: [{ name: 'default', max_per_ip: 1 }] });
    await open(port);
    const second = await open(port);
    const error = await second.waitFor((t) => t.startsWith('ERROR'));
    expect(error.data.toString()).toMatch(/Too many connections from your IP/);
    await second.waitClosed();
  });

  it('takes the address from X-Forwarded-For only from a trusted proxy', async () => {
    const port = await startWith({ trusted_proxies: ['127.0.0.1'] });
    const proxied = await open(port, { headers: { 'X-Forwarded-For': '203.0.113.50, 192.0.2.9' } });
    await proxied.register('proxied');
    proxied.send('WHOIS proxied');
    await proxied.waitFor((t) => / 311 proxied proxied web 192\.0\.2\.9 /.test(t));
  });

  it('ignores X-Forwarded-For from anyone else', async () => {
    const port = await startWith();
    const direct = await open(port, { headers: { 'X-Forwarded-For': '192.0.2.9' } });
    await direct.register('direct');
    direct.send('WHOIS direct');
    await direct.waitFor((t) => / 311 direct direct web 127\.0\.0\.1 /.test(t));
  });
});

describe('WebSocket control frames', () => {
  it('makes PING frames wait for flood tokens like lines, and a flood of them past the recvq is Excess Flood', async () => {
    const burst = 10;
    // Tokens come back once in 1,000 s: only the burst is ever spent.
    const port = await startWith({}, { class: [{ name: 'default', max_per_ip: 100, recvq: 512, flood: { burst, rate: 0.001 } }] });
    const ws = await open(port);
    await ws.register('pinger'); // NICK and USER: two tokens
    const conn = s.srv.server.state.findNick('pinger')!.sessions[0]!.conn;
    const pings = Array.from({ length: 20 }, (_, i) => `ping${String(i).padStart(2, '0')}`);
    for (const p of pings) ws.send(p, { opcode: 0x9 });
    const answered = burst - 2;
    await ws.waitFor((t, m) => m.opcode === 0xa && t === pings[answered - 1]);
    // The other PINGs wait in the recvq (12-byte frames: 6 of header and mask, 6 of payload).
    expect(await waitUntil(() => conn.recvqBytes === (pings.length - answered) * 12, 3000)).toBe(true);
    expect(ws.messages.filter((m) => m.opcode === 0xa).map((m) => m.data.toString())).toEqual(pings.slice(0, answered));

    for (let i = 0; i < 100; i++) ws.send('flood', { opcode: 0x9 });
    const error = await ws.waitFor((t) => t.startsWith('ERROR'));
    expect(error.data.toString()).toMatch(/Excess Flood/);
    await ws.waitClosed();
    expect(s.srv.server.stats.disconnects.flood).toBe(1);
  });

  it('drops a client that sends PING frames and never reads at its sendq, and frees what was queued', async () => {
    // Flood control out of the way: only the sendq can stop this client.
    const roomy = { max_per_ip: 100, recvq: 1 << 20, flood: { burst: 100000, rate: 100000 } };
    const port = await startWith({}, { class: [{ name: 'default', ...roomy, sendq: 65536 }] });
    const state = s.srv.server.state;
    const bystander = await s.connect('bystander');
    const ws = await open(port);
    await ws.register('sleeper');
    ws.socket.pause();
    // About 1 MB of 125-byte PING frames at a time, until the kernel's buffers and the sendq are full.
    const batch = Buffer.concat(Array.from({ length: 8000 }, () => maskedFrame(0x9, Buffer.alloc(125, 'p'))));
    for (let i = 0; i < 60 && state.findNick('sleeper'); i++) {
      ws.socket.write(batch);
      await sleep(20);
    }
    expect(await waitUntil(() => !state.findNick('sleeper'), 10000)).toBe(true);
    expect(s.srv.server.stats.disconnects.sendq).toBe(1);
    expect(await waitUntil(() => [...state.clients].every((c) => c.sessions.every((session) => session.conn.sendqBytes === 0)), 10000)).toBe(true);
    expect((await bystander.collectUntilPong()).some((m) => m.command === 'ERROR')).toBe(false);
  });
});

describe('pending upgrades', () => {
  /** Opens `count` connections from `localAddress` that never send a byte; `closed` counts those the server ended. */
  async function silent(port: number, count: number, localAddress = '127.0.0.1'): Promise<{ sockets: Socket[]; closed: () => number }> {
    let closed = 0;
    const sockets = await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const sock = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(sock));
            sock.once('error', reject);
            sock.on('close', () => closed++);
          }),
      ),
    );
    for (const sock of sockets) s.track({ close: () => sock.destroy() });
    return { sockets, closed: () => closed };
  }

  it('keeps browsers from other addresses coming in while one address holds 1,030 silent sockets', async () => {
    const port = await startWith();
    const attack = await silent(port, 1030);
    // All but a few of them are closed at once; those few wait for their request.
    expect(await waitUntil(() => attack.closed() === 1030 - 8, 5000)).toBe(true);
    expect(s.srv.server.stats.rejected.limit).toBe(1030 - 8);
    const browser = await open(port, { localAddress: '127.0.0.2' });
    await browser.register('browser');
    await expect(TestWebSocket.open(port)).rejects.toThrow();
  });

  it('counts pending upgrades toward the per-address limit, and gives their places back when they end', async () => {
    const port = await startWith({}, { class: [{ name: 'default', max_per_ip: 2 }] });
    const waiting = await silent(port, 2);
    const third = await open(port);
    expect((await third.waitFor((t) => t.startsWith('ERROR'))).data.toString()).toMatch(/Too many connections from your IP/);
    for (const sock of waiting.sockets) sock.destroy();
    expect(await waitUntil(() => s.srv.server.admission.addressesCounted === 0, 3000)).toBe(true);
    await (await open(port)).register('later');
  });

  it('applies a D-line set while the upgrade was pending', async () => {
    const port = await startWith({}, operConfig());
    const [pending] = (await silent(port, 1, '127.0.0.3')).sockets;
    const op = await s.connect('op');
    await operUp(op);
    op.send('DLINE 127.0.0.3 :not you');
    await op.waitFor((m) => m.command === 'NOTICE' && /Added permanent D-Line/.test(m.params[1]!));
    const ws = await TestWebSocket.upgrade(pending!);
    expect((await ws.waitFor((t) => t.startsWith('ERROR'))).data.toString()).toMatch(/Banned: not you/);
  });

  it('does not limit a trusted proxy by its own address: its users are admitted by theirs', async () => {
    const port = await startWith({ trusted_proxies: ['127.0.0.1'] }, { class: [{ name: 'default', max_per_ip: 1 }] });
    await silent(port, 12);
    const users = ['192.0.2.1', '192.0.2.2'].map((ip) => open(port, { headers: { 'X-Forwarded-For': ip } }));
    for (const [i, user] of (await Promise.all(users)).entries()) await user.register(`user${i}`);
    const again = await open(port, { headers: { 'X-Forwarded-For': '192.0.2.1' } });
    expect((await again.waitFor((t) => t.startsWith('ERROR'))).data.toString()).toMatch(/Too many connections from your IP/);
  });
});
