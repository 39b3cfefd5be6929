// The daemon end to end: registration, nick rules, direct messages, input limits, timers, shutdown.
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/password.js';
import { TestClient, waitUntil } from '../support/harness.js';
import { useSession } from '../support/session.js';

const session = useSession();
const { start, connect, raw } = session;

describe('registration', () => {
  it('sends the welcome burst in order', async () => {
    await start();
    const c = await raw();
    c.send('NICK alice');
    c.send('USER alice 0 * :Alice Liddell');
    await c.waitFor('376');
    const cmds = c.lines.map((l) => l.split(' ')[1]);
    const order = ['001', '002', '003', '004', '005', '251', '254', '255', '265', '266', '375', '372', '376'];
    const positions = order.map((n) => cmds.indexOf(n));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(c.lines[0]).toBe(':irc.test 001 alice :Welcome to the TestNet Internet Relay Chat Network alice');
    const isupport = c.lines.filter((l) => l.split(' ')[1] === '005').join(' ');
    expect(isupport).toContain('CASEMAPPING=rfc1459');
    expect(isupport).toContain('NETWORK=TestNet');
    expect(isupport).toContain('NICKLEN=30');
    const targmax = /TARGMAX=(\S+)/.exec(isupport)![1]!.split(',');
    expect(targmax).toEqual(expect.arrayContaining(['PRIVMSG:4', 'NOTICE:4', 'JOIN:', 'KICK:4', 'WHOIS:4']));
  });

  it('answers commands before registration with 451', async () => {
    await start();
    const c = await raw();
    c.send('PRIVMSG bob :hi');
    expect((await c.waitFor('451')).params).toEqual(['*', 'You have not registered']);
  });

  it('answers 461 for missing parameters and 421 for unknown commands', async () => {
    await start();
    const c = await connect('alice');
    c.send('USER');
    c.send('FROBNICATE x');
    c.send('PRIVMSG');
    await c.waitFor((m) => m.command === '462' || m.command === '461');
    expect((await c.waitFor('421')).params).toEqual(['alice', 'FROBNICATE', 'Unknown command']);
    expect((await c.waitFor('411')).params[1]).toMatch(/No recipient/);
  });

  it('rejects erroneous and taken nicks, case-insensitively under rfc1459', async () => {
    await start();
    await connect('Al[ice]');
    const c = await raw();
    c.send('NICK al{ICE}');
    expect((await c.waitFor('433')).params).toEqual(['*', 'al{ICE}', 'Nickname is already in use']);
    c.send('NICK 1abc');
    expect((await c.waitFor('432')).params[1]).toBe('1abc');
    c.send('NICK #chan');
    await c.waitFor('432');
    c.send('NICK ' + 'a'.repeat(31));
    await c.waitFor('432');
    c.send('NICK');
    await c.waitFor('431');
    c.send('NICK bob');
    c.send('USER bob 0 * :Bob');
    await c.waitFor('001');
  });

  it('refuses a username with nothing usable in it, then accepts a good one', async () => {
    await start();
    const c = await raw();
    c.send('NICK emoji');
    c.send('USER 😊😊😊 0 * :Real Name');
    expect((await c.waitFor('468')).params[0]).toBe('emoji');
    c.send('USER we!rd 0 * :Real Name');
    await c.waitFor('001');
    expect(session.srv.server.state.findNick('emoji')!.user).toBe('werd');
  });

  it('holds registration while CAP negotiation is open', async () => {
    await start();
    const c = await raw();
    c.send('CAP LS 302');
    c.send('NICK carol');
    c.send('USER carol 0 * :Carol');
    // The last LS line (a long list continues over lines marked "*").
    await c.waitFor((m) => m.command === 'CAP' && m.params[1] === 'LS' && m.params[2] !== '*');
    c.send('CAP REQ :message-tags server-time');
    expect((await c.waitFor('CAP')).params).toEqual(['carol', 'ACK', 'message-tags server-time']);
    c.send('CAP REQ :message-tags bogus-cap');
    expect((await c.waitFor('CAP')).params).toEqual(['carol', 'NAK', 'message-tags bogus-cap']);
    const before = await c.collectUntilPong();
    expect(before.some((m) => m.command === '001')).toBe(false);
    c.send('CAP LIST');
    const list = await c.waitFor('CAP');
    expect(list.params[1]).toBe('LIST');
    expect(list.params[2]!.split(' ').sort()).toEqual(['cap-notify', 'message-tags', 'server-time']);
    c.send('CAP END');
    await c.waitFor('001');
  });

  it('requires the allow block password when one is set', async () => {
    await start({ allow: [{ mask: '*', class: 'default', password: hashPassword('sesame') }] });
    const good = await raw();
    good.send('PASS sesame');
    good.send('NICK good');
    good.send('USER good 0 * :Good');
    await good.waitFor('001');
    const bad = await raw();
    bad.send('PASS wrong');
    bad.send('NICK bad');
    bad.send('USER bad 0 * :Bad');
    await bad.waitFor('464');
    await bad.waitFor((m) => m.command === 'ERROR');
    await bad.waitClosed();
    const none = await raw();
    none.send('NICK none');
    none.send('USER none 0 * :None');
    await none.waitFor('464');
    good.send('PASS again');
    await good.waitFor('462');
  });
});

describe('messages between clients', () => {
  it('delivers PRIVMSG and NOTICE to nicks, with errors for unknown targets', async () => {
    await start();
    const a = await connect('alice');
    const b = await connect('bob');
    a.send('PRIVMSG bob :hello bob');
    const got = await b.waitFor('PRIVMSG');
    expect(got.source).toMatch(/^alice!alice@/);
    expect(got.params).toEqual(['bob', 'hello bob']);
    a.send('NOTICE BOB :a notice');
    expect((await b.waitFor('NOTICE')).params).toEqual(['BOB', 'a notice']);
    a.send('PRIVMSG nobody :x');
    expect((await a.waitFor('401')).params).toEqual(['alice', 'nobody', 'No such nick/channel']);
    a.send('NOTICE nobody :x');
    a.send('PRIVMSG bob');
    expect((await a.waitFor((m) => m.command === '412' || m.command === '401')).command).toBe('412');
  });

  it('sends to several targets up to the limit and answers 407 beyond it', async () => {
    await start({ limits: { max_targets: 2 } });
    const a = await connect('alice');
    const b = await connect('bob');
    const c = await connect('carol');
    const d = await connect('dave');
    a.send('PRIVMSG bob,carol,dave :hi all');
    await b.waitFor('PRIVMSG');
    await c.waitFor('PRIVMSG');
    expect((await a.waitFor('407')).params[1]).toBe('dave');
    const dLines = await d.collectUntilPong();
    expect(dLines.some((m) => m.command === 'PRIVMSG')).toBe(false);
  });

  it('shows a nick change once to the client itself', async () => {
    await start();
    const a = await connect('alice');
    a.send('NICK alicia');
    const m = await a.waitFor('NICK');
    expect(m.source).toMatch(/^alice!/);
    expect(m.params).toEqual(['alicia']);
    const b = await connect('bob');
    b.send('PRIVMSG alicia :found you');
    await a.waitFor('PRIVMSG');
  });

  it('echoes messages to senders with echo-message and shares one msgid', async () => {
    await start();
    const a = await connect('alice', { caps: ['echo-message', 'message-tags'] });
    const b = await connect('bob', { caps: ['message-tags'] });
    a.send('@+draft/reply=abc PRIVMSG bob :tagged');
    const echo = await a.waitFor('PRIVMSG');
    const got = await b.waitFor('PRIVMSG');
    expect(echo.tags?.msgid).toBeTruthy();
    expect(got.tags?.msgid).toBe(echo.tags?.msgid);
    expect(got.tags?.['+draft/reply']).toBe('abc');
  });
});

describe('keepalive and limits', () => {
  it('pings idle clients and drops those that do not answer', async () => {
    await start({ class: [{ name: 'default', ping_interval: 1, ping_timeout: 1, max_per_ip: 100 }] });
    const quiet = await connect('quiet');
    const answering = await connect('answering');
    answering.socket.on('data', (d: Buffer | string) => {
      const text = String(d);
      const m = /PING :?(\S+)/.exec(text);
      if (m) answering.send(`PONG :${m[1]}`);
    });
    await quiet.waitFor('PING', { timeout: 4000 });
    const err = await quiet.waitFor('ERROR', { timeout: 5000 });
    expect(err.params[0]).toMatch(/Ping timeout/);
    await quiet.waitClosed();
    expect(answering.closed).toBe(false);
  });

  it('drops clients that do not register in time', async () => {
    await start({ class: [{ name: 'default', registration_timeout: 1, max_per_ip: 100 }] });
    const c = await raw();
    c.send('NICK slow');
    const err = await c.waitFor('ERROR', { timeout: 4000 });
    expect(err.params[0]).toMatch(/Registration timed out/);
  });

  it('limits connections per IP', async () => {
    await start({ class: [{ name: 'default', max_per_ip: 2 }] });
    await raw();
    await raw();
    const third = await raw();
    const err = await third.waitFor('ERROR');
    expect(err.params[0]).toMatch(/Too many connections from your IP/);
    await third.waitClosed();
  });

  it('refuses connections beyond server.max_clients', async () => {
    await start({ server: { name: 'irc.test', network: 'TestNet', motd: 'motd.txt', max_clients: 1 } });
    await raw();
    const extra = await raw();
    expect((await extra.waitFor('ERROR')).params[0]).toMatch(/Server is full/);
  });

  it('answers 417 to overlong lines and keeps the client', async () => {
    await start();
    const a = await connect('alice');
    a.send('PRIVMSG alice :' + 'x'.repeat(600));
    expect((await a.waitFor('417')).params).toEqual(['alice', 'Input line was too long']);
    a.send(`@+tag=${'y'.repeat(9000)} PRIVMSG alice :hi`);
    await a.waitFor('417');
    a.send('PRIVMSG alice :' + 'z'.repeat(490));
    await a.waitFor('PRIVMSG');
  });

  it('cuts relayed text so the line with the sender mask still fits 512 bytes, never inside a character', async () => {
    await start();
    const a = await connect('alice');
    const b = await connect('bob');
    const prefix = 'PRIVMSG bob :';
    a.send(prefix + 'é'.repeat((510 - prefix.length) / 2 - 1) + 'xy');
    await b.waitFor('PRIVMSG');
    const raw = b.lines.find((l) => l.includes(' PRIVMSG bob '))!;
    expect(Buffer.byteLength(raw) + 2).toBeLessThanOrEqual(512);
    expect(raw).toMatch(/^:alice!\S+ PRIVMSG bob :?(é)+$/);
  });

  it('rejects invalid UTF-8 and NUL bytes with FAIL, and keeps serving', async () => {
    await start();
    const a = await connect('alice');
    a.sendRaw(Buffer.concat([Buffer.from('PRIVMSG alice :bad '), Buffer.from([0xff, 0xfe]), Buffer.from('\r\n')]));
    expect((await a.waitFor('FAIL')).params.slice(0, 2)).toEqual(['PRIVMSG', 'INVALID_UTF8']);
    a.sendRaw(Buffer.from('PRIVMSG alice :nul\0byte\r\n'));
    expect((await a.waitFor('FAIL')).params[1]).toBe('INVALID_CHARACTERS');
    a.send('PRIVMSG alice :héllo wörld');
    expect((await a.waitFor('PRIVMSG')).params[1]).toBe('héllo wörld');
  });

  it('decodes invalid UTF-8 with replacement characters when utf8only is off', async () => {
    await start({ server: { name: 'irc.test', network: 'TestNet', motd: 'motd.txt', utf8only: false } });
    const a = await connect('alice');
    a.sendRaw(Buffer.concat([Buffer.from('PRIVMSG alice :bad '), Buffer.from([0xff]), Buffer.from('\r\n')]));
    expect((await a.waitFor('PRIVMSG')).params[1]).toBe('bad \uFFFD');
  });

  it('accepts bare LF line endings and ignores empty lines', async () => {
    await start();
    const c = await raw();
    c.sendRaw('\r\n\nNICK lf\nUSER lf 0 * :LF\n');
    await c.waitFor('001');
  });

  it('drops a client whose unprocessed input exceeds the recvq', async () => {
    await start({ class: [{ name: 'default', recvq: 4096, max_per_ip: 100 }] });
    const c = await raw();
    c.sendRaw('x'.repeat(100000));
    const err = await c.waitFor('ERROR');
    expect(err.params[0]).toMatch(/Excess Flood/);
  });

  it('slows a command flood to the class rate and drops it when the recvq fills', async () => {
    await start({ class: [{ name: 'default', recvq: 2048, max_per_ip: 100, flood: { burst: 5, rate: 20 } }] });
    const a = await connect('alice');
    const t0 = Date.now();
    for (let i = 0; i < 25; i++) a.send(`PING t${i}`);
    await a.waitFor((m) => m.command === 'PONG' && m.params[1] === 't24', { timeout: 5000 });
    // 5 in the burst, then 20 more at 20 per second: about a second, not instant.
    expect(Date.now() - t0).toBeGreaterThan(700);
    const pongs = a.lines.filter((l) => / PONG /.test(l)).map((l) => l.split(' ').pop());
    expect(pongs.slice(-25)).toEqual(Array.from({ length: 25 }, (_, i) => `t${i}`));
    a.sendRaw(Array.from({ length: 300 }, (_, i) => `PRIVMSG alice :flood ${i}\r\n`).join(''));
    const err = await a.waitFor('ERROR', { timeout: 5000 });
    expect(err.params[0]).toMatch(/Excess Flood/);
  });

  it('drops a client that does not read once its sendq is exceeded, and others keep chatting', async () => {
    const roomy = { max_per_ip: 100, recvq: 1 << 20, flood: { burst: 100000, rate: 100000 } };
    await start({
      class: [
        { name: 'default', ...roomy },
        { name: 'small', sendq: 65536, ...roomy },
      ],
      // The sleeper connects from 127.0.0.2 and lands in the small class.
      allow: [
        { mask: '127.0.0.2', class: 'small' },
        { mask: '*', class: 'default' },
      ],
    });
    const reader = await connect('reader');
    const sleeper = await TestClient.connect(session.srv.port, { localAddress: '127.0.0.2' });
    session.track(sleeper);
    await sleeper.register('sleeper');
    sleeper.socket.pause();
    const sender = await connect('sender');
    const line = 'PRIVMSG sleeper :' + 'x'.repeat(400) + '\r\n';
    for (let i = 0; i < 40 && session.srv.server.state.findNick('sleeper'); i++) {
      sender.sendRaw(line.repeat(1000));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await waitUntil(() => !session.srv.server.state.findNick('sleeper'), 15000)).toBe(true);
    sender.send('PRIVMSG reader :still here');
    expect((await reader.waitFor('PRIVMSG', { timeout: 10000 })).params[1]).toBe('still here');
  });
});

describe('labeled-response and batch', () => {
  it('labels single replies, ACKs silent commands and batches multi-line replies', async () => {
    await start();
    const a = await connect('alice', { caps: ['labeled-response', 'batch', 'message-tags'] });
    a.send('@label=one PING x');
    const pong = await a.waitFor('PONG');
    expect(pong.tags?.label).toBe('one');
    a.send('@label=two PONG x');
    const ack = await a.waitFor('ACK');
    expect(ack.tags?.label).toBe('two');
    a.send('@label=three MOTD');
    const start3 = await a.waitFor('BATCH');
    expect(start3.tags?.label).toBe('three');
    expect(start3.params[1]).toBe('labeled-response');
    const ref = start3.params[0]!.slice(1);
    const inner = await a.waitFor('372');
    expect(inner.tags?.batch).toBe(ref);
    const end = await a.waitFor('BATCH');
    expect(end.params).toEqual([`-${ref}`]);
  });
});

describe('labeled-response edge cases', () => {
  it('wraps every multi-line reply in one labeled batch: WHO, WHOIS, NAMES, LIST, ban list, MOTD', async () => {
    await start();
    const a = await connect('alice', { caps: ['labeled-response', 'batch'] });
    const b = await connect('bob');
    a.send('JOIN #lab');
    b.send('JOIN #lab');
    await a.waitFor((m) => m.command === 'JOIN' && m.source!.startsWith('bob!'));
    a.send('MODE #lab +b x!*@*');
    await a.waitFor('MODE');
    const cases: Array<[string, string[]]> = [
      ['WHO #lab', ['352', '315']],
      ['WHOIS bob', ['311', '318']],
      ['NAMES #lab', ['353', '366']],
      ['LIST', ['321', '322', '323']],
      ['MODE #lab +b', ['367', '368']],
      ['MOTD', ['375', '376']],
    ];
    for (const [i, [line, expected]] of cases.entries()) {
      const replies = await a.ask(`@label=L${i} ${line}`);
      const open = replies[0]!;
      expect(open.command).toBe('BATCH');
      expect(open.tags?.label).toBe(`L${i}`);
      expect(open.params[1]).toBe('labeled-response');
      const ref = open.params[0]!.slice(1);
      const inner = replies.slice(1, -1);
      expect(inner.every((m) => m.tags?.batch === ref && m.tags?.label === undefined)).toBe(true);
      expect(inner.map((m) => m.command)).toEqual(expect.arrayContaining(expected));
      expect(replies.at(-1)!.params).toEqual([`-${ref}`]);
    }
  });

  it('labels refusals too: unknown commands and missing parameters', async () => {
    await start();
    const a = await connect('alice', { caps: ['labeled-response', 'batch'] });
    a.send('@label=u1 NOSUCHCMD');
    const unknown = await a.waitFor('421');
    expect(unknown.tags?.label).toBe('u1');
    a.send('@label=u2 PRIVMSG');
    expect((await a.waitFor('411')).tags?.label).toBe('u2');
  });

  it('labels only the echo of a PRIVMSG to oneself, not the copy received as target', async () => {
    await start();
    const a = await connect('alice', { caps: ['labeled-response', 'batch', 'echo-message'] });
    a.send('@label=self PRIVMSG alice :hi me');
    const first = await a.waitFor('PRIVMSG');
    const second = await a.waitFor('PRIVMSG');
    expect([first.tags?.label, second.tags?.label].filter(Boolean)).toEqual(['self']);
    const rest = await a.collectUntilPong();
    expect(rest.some((m) => m.command === 'BATCH')).toBe(false);
  });

  it('still answers a labeled command that ends the connection, before the ERROR', async () => {
    await start({ allow: [{ mask: '*', class: 'default', password: hashPassword('sesame') }] });
    const c = await raw();
    c.send('CAP REQ :labeled-response batch');
    c.send('PASS wrong');
    c.send('NICK bad');
    c.send('USER bad 0 * :Bad');
    c.send('@label=p1 CAP END');
    expect((await c.waitFor('464')).tags?.label).toBe('p1');
    await c.waitClosed();
    expect(c.lines.at(-1)).toMatch(/^ERROR /);
    expect(c.lines.at(-2)).toMatch(/ 464 bad :Password incorrect$/);
  });
});

describe('shutdown', () => {
  it('sends ERROR to every client and stops listening', async () => {
    const s = await start();
    const a = await connect('alice');
    const b = await connect('bob');
    await s.server.stop('Maintenance', 1000);
    expect((await a.waitFor('ERROR')).params[0]).toMatch(/Maintenance/);
    expect((await b.waitFor('ERROR')).params[0]).toMatch(/Maintenance/);
    await expect(TestClient.connect(s.port)).rejects.toThrow();
  });
});
