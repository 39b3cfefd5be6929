// PROXY protocol listeners: a trusted proxy's header gives the client's address before any
// admission check (D-lines, WHOIS), TLS the proxy terminated counts as secure only when its v2
// header says so, and untrusted sources, missing headers and garbage are refused.
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TestClient, testConfig, toToml, type RawConfig } from '../support/harness.js';
import { operConfig, operUp } from '../support/oper.js';
import { sslTlv, v1Header, v2Header, v2Raw } from '../support/proxy.js';
import { useSession } from '../support/session.js';
import { makeSelfSignedCert } from '../support/tls.js';
import { TestWebSocket } from '../support/websocket.js';

const s = useSession();

function proxyConfig(listen: RawConfig = {}, trusted = ['127.0.0.1']): RawConfig {
  return operConfig({ listen: [{ address: '127.0.0.1', port: 0, proxy: true, ...listen }], proxy: { trusted } });
}

async function rawSocket(localAddress?: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port: s.srv.port, localAddress });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  s.track({ close: () => socket.destroy() });
  return socket;
}

/** A client behind the proxy: the header, then registration in the same write (as a proxy may). */
async function behindProxy(nick: string, header: string | Buffer, localAddress?: string): Promise<TestClient> {
  const c = s.track(await TestClient.connect(s.srv.port, { localAddress }));
  c.nick = nick;
  c.sendRaw(Buffer.concat([Buffer.from(header), Buffer.from(`NICK ${nick}\r\nUSER ${nick} 0 * :Proxied\r\n`)]));
  return c;
}

const welcomed = (c: TestClient) => c.waitFor((m) => m.command === '376' || m.command === '422');

function closedWithin(socket: Socket, ms = 8000): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('PROXY protocol', () => {
  it('v1 and v2 from a trusted proxy give the real address, which opers see in WHOIS', async () => {
    await s.start(proxyConfig());
    const one = await behindProxy('one', v1Header('192.0.2.10', '198.51.100.1', 40000, 6667));
    await welcomed(one);
    const two = await behindProxy('two', v2Header('2001:db8::7', '2001:db8::1', 40001, 6697));
    await welcomed(two);
    const op = await behindProxy('op', v1Header('127.0.0.1', '127.0.0.1', 40002, 6667));
    await welcomed(op);
    await operUp(op);
    const w1 = await op.ask('WHOIS one');
    expect(w1.find((m) => m.command === '311')!.params[3]).toBe('192.0.2.10');
    expect(w1.some((m) => m.command === '671')).toBe(false);
    const w2 = await op.ask('WHOIS two');
    expect(w2.find((m) => m.command === '311')!.params[3]).toBe('2001:db8::7');
  });

  it('applies a D-line on the real address, not the proxy', async () => {
    await s.start(proxyConfig());
    const op = await behindProxy('op', v1Header('127.0.0.1', '127.0.0.1', 40002, 6667));
    await welcomed(op);
    await operUp(op);
    op.send('DLINE 192.0.2.66 :proxied abuser');
    await op.waitFor('NOTICE');
    const banned = await behindProxy('bad', v2Header('192.0.2.66', '198.51.100.1', 5000, 6667));
    expect((await banned.waitFor('ERROR')).params[0]).toMatch(/proxied abuser/);
    await banned.waitClosed();
    const fine = await behindProxy('fine', v1Header('192.0.2.67', '198.51.100.1', 5001, 6667));
    await welcomed(fine);
  });

  it('reports TLS the proxy terminated as secure only when the v2 SSL TLV says so', async () => {
    await s.start(proxyConfig());
    const tls = await behindProxy('tlsuser', v2Header('192.0.2.20', '198.51.100.1', 1, 6697, [sslTlv(true)]));
    await welcomed(tls);
    const whois = await tls.ask('WHOIS tlsuser');
    expect(whois.some((m) => m.command === '671')).toBe(true);
    const plain = await behindProxy('plainuser', v2Header('192.0.2.21', '198.51.100.1', 1, 6667, [sslTlv(false)]));
    await welcomed(plain);
    expect((await plain.ask('WHOIS plainuser')).some((m) => m.command === '671')).toBe(false);
  });

  it('shows a LOCAL (health check) connection as the proxy itself', async () => {
    await s.start(proxyConfig());
    const local = await behindProxy('local', v2Raw(0x20, 0x00, Buffer.alloc(0)));
    await welcomed(local);
    expect((await local.ask('WHOIS local')).find((m) => m.command === '311')!.params[3]).toBe('127.0.0.1');
  });

  it('refuses an untrusted source, a missing header and garbage, closing the socket', async () => {
    await s.start(proxyConfig({}, ['127.0.0.1/32', '10.0.0.0/8']));
    const untrusted = await rawSocket('127.0.0.2');
    untrusted.write(v1Header('192.0.2.1', '198.51.100.1', 1, 2));
    expect(await closedWithin(untrusted)).toBe(true);

    const direct = await behindProxy('direct', '');
    await direct.waitClosed();
    expect(direct.lines.some((l) => / 001 /.test(l))).toBe(false);

    const garbage = await rawSocket();
    garbage.write(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x99, 0x11, 0, 0]));
    expect(await closedWithin(garbage)).toBe(true);

    const truncated = await rawSocket();
    truncated.write('PROXY TCP4 192.0.2.1 198.51.100.1 ');
    truncated.end();
    expect(await closedWithin(truncated)).toBe(true);

    // Each refusal is counted (and logged) as a denied connection; the server is still there.
    expect(s.srv.server.stats.rejected.denied).toBe(4);
    await welcomed(await behindProxy('after', v1Header('192.0.2.30', '198.51.100.1', 1, 2)));
  });

  it('reads [proxy] trusted again on REHASH', async () => {
    await s.start(proxyConfig({}, []));
    const before = await rawSocket();
    expect(await closedWithin(before)).toBe(true);
    writeFileSync(s.srv.configPath, toToml(testConfig(proxyConfig({}, ['127.0.0.0/8']))));
    expect(await s.srv.server.rehash('test')).toEqual({ ok: true, needsRestart: [], warnings: [] });
    await welcomed(await behindProxy('later', v1Header('192.0.2.50', '198.51.100.1', 1, 2)));
  });

  it('closes a proxied connection that never sends its header', async () => {
    await s.start(proxyConfig());
    const silent = await rawSocket();
    const t0 = Date.now();
    expect(await closedWithin(silent, 8000)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4000);
  }, 12000);

  it('reads the header before TLS on a TLS listener, and before the upgrade on a WebSocket one', async () => {
    const cert = makeSelfSignedCert();
    await s.start(proxyConfig({ tls: cert }));
    const raw = await rawSocket();
    raw.write(v1Header('192.0.2.40', '198.51.100.1', 1, 6697));
    const c = s.track(await TestClient.connectTls(s.srv.port, { socket: raw }));
    await c.register('tlsproxied');
    const whois = await c.ask('WHOIS tlsproxied');
    expect(whois.find((m) => m.command === '311')!.params[3]).toBe('192.0.2.40');
    expect(whois.some((m) => m.command === '671')).toBe(true);
    // A health check's LOCAL header: TLS still follows, and the connection is the proxy's own.
    const localRaw = await rawSocket();
    localRaw.write(v2Raw(0x20, 0x00, Buffer.alloc(0)));
    const local = s.track(await TestClient.connectTls(s.srv.port, { socket: localRaw }));
    await local.register('checker');
    expect((await local.ask('WHOIS checker')).find((m) => m.command === '311')!.params[3]).toBe('127.0.0.1');
    await s.srv.stop();

    await s.start(proxyConfig({ websocket: true }));
    const wsRaw = await rawSocket();
    wsRaw.write(v2Header('192.0.2.41', '198.51.100.1', 1, 443, [sslTlv(true)]));
    const ws = s.track(await TestWebSocket.upgrade(wsRaw, { protocols: ['text.ircv3.net'] }));
    ws.send('NICK wsproxied');
    ws.send('USER w 0 * :w');
    ws.send('WHOIS wsproxied');
    const line = await ws.waitFor((t) => / 311 /.test(t));
    expect(line.data.toString().trim().split(' ')[5]).toBe('192.0.2.41');
    expect((await ws.waitFor((t) => / 671 /.test(t))).data.toString()).toMatch(/secure/i);
  });
});
