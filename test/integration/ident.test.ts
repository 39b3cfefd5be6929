// Ident lookups (RFC 1413) against a local ident responder on a loopback port ([ident] port):
// an answer becomes the username, anything else (refused, silent, malformed) gives "~", the
// lookup never holds registration past its timeout, WebSocket and WEBIRC clients get none, and a
// connection flood gets no flood of lookups (max_lookups).
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/password.js';
import { bansOf } from '../../src/modules/bans.js';
import { client, TestClient, waitUntil, type RawConfig } from '../support/harness.js';
import { useSession } from '../support/session.js';
import { TestWebSocket } from '../support/websocket.js';

const s = useSession();

/** How the responder answers a query "<client port>, <server port>". */
type Answer = (clientPort: number, serverPort: number) => string | undefined;

interface Responder {
  port: number;
  /** Queries received, as "<client port>, <server port>". */
  queries: string[];
  /** Sockets held open without an answer. */
  held: Socket[];
}

let responder: NetServer | undefined;
/** Every socket the responder accepted: closed after each test, so that closing it does not wait. */
const accepted: Socket[] = [];
afterEach(async () => {
  for (const sock of accepted.splice(0)) sock.destroy();
  await new Promise((r) => (responder ? responder.close(r) : r(undefined)));
  responder = undefined;
});

async function startResponder(answer: Answer): Promise<Responder> {
  const r: Responder = { port: 0, queries: [], held: [] };
  responder = createServer((sock) => {
    accepted.push(sock);
    sock.setEncoding('latin1');
    let text = '';
    sock.on('error', () => {});
    sock.on('data', (d: string) => {
      text += d;
      const m = /^(\d+)\s*,\s*(\d+)\r\n/.exec(text);
      if (!m) return;
      r.queries.push(`${m[1]}, ${m[2]}`);
      const reply = answer(Number(m[1]), Number(m[2]));
      if (reply === undefined) r.held.push(sock);
      else sock.end(reply);
    });
  });
  await new Promise<void>((ok) => responder!.listen(0, '127.0.0.1', () => ok()));
  r.port = (responder.address() as { port: number }).port;
  return r;
}

/** A class with ident lookups, asking `port`. */
function identConfig(port: number, ident: RawConfig = {}, klass: RawConfig = {}): RawConfig {
  return {
    class: [{ name: 'default', max_per_ip: 100, flood: { burst: 1000, rate: 1000 }, connect_rate: { count: 1000, seconds: 1 }, ident: true, ...klass }],
    ident: { port, timeout: 1, ...ident },
  };
}

/** The username WHOIS shows for `nick`. */
async function usernameOf(c: TestClient, nick: string): Promise<string> {
  const reply = (await c.ask(`WHOIS ${nick}`)).find((m) => m.command === '311');
  return reply!.params[2]!;
}

const userid = (user: string): Answer => (a, b) => `${a} , ${b} : USERID : UNIX : ${user}\r\n`;

describe('ident', () => {
  it('uses the answered username, asked about the right ports from the right address', async () => {
    const r = await startResponder(userid('realuser'));
    const srv = await s.start(identConfig(r.port));
    const c = s.track(await TestClient.connect(srv.port));
    await c.register('answered', { user: 'given' });
    expect(c.lines.some((l) => l.endsWith(':*** Checking Ident'))).toBe(true);
    expect(c.lines.some((l) => l.endsWith(':*** Got Ident response'))).toBe(true);
    expect(await usernameOf(c, 'answered')).toBe('realuser');
    expect(r.queries).toEqual([`${c.socket.localPort}, ${srv.port}`]);
  });

  it('keeps only username characters of an answer, within USERLEN', async () => {
    const r = await startResponder(userid('we!rd user_with.a-very-long-name'));
    const srv = await s.start(identConfig(r.port));
    const c = s.track(await TestClient.connect(srv.port));
    await c.register('odd', { user: 'given' });
    expect(await usernameOf(c, 'odd')).toBe('werduser_w');
  });

  it('gives "~" when the ident port refuses the connection', async () => {
    const r = await startResponder(userid('unused'));
    await new Promise((ok) => responder!.close(ok));
    responder = undefined;
    const srv = await s.start(identConfig(r.port));
    const c = s.track(await TestClient.connect(srv.port));
    await c.register('refused', { user: 'given' });
    expect(c.lines.some((l) => l.endsWith(':*** No Ident response'))).toBe(true);
    expect(await usernameOf(c, 'refused')).toBe('~given');
  });

  it('gives "~" once the timeout passes without an answer, and registration goes on', async () => {
    const r = await startResponder(() => undefined);
    const srv = await s.start(identConfig(r.port, { timeout: 0.5 }));
    const c = s.track(await TestClient.connect(srv.port));
    await c.register('silent', { user: '~given' });
    expect(await waitUntil(() => r.queries.length === 1, 3000)).toBe(true);
    expect(await usernameOf(c, 'silent')).toBe('~given');
  });

  it('gives "~" for malformed answers, ERROR answers and answers about other ports', async () => {
    const answers: Answer[] = [
      () => 'hello there\r\n',
      (a, b) => `${a} , ${b + 1} : USERID : UNIX : other\r\n`,
      (a, b) => `${a} , ${b} : ERROR : NO-USER\r\n`,
      () => 'x'.repeat(4000),
    ];
    let i = 0;
    const r = await startResponder((a, b) => answers[i++]!(a, b));
    const srv = await s.start(identConfig(r.port));
    const nicks = ['garbage', 'wrongport', 'error', 'endless'];
    const clients: TestClient[] = [];
    for (const nick of nicks) clients.push(s.track(await client(srv.port, nick, { user: 'given' })));
    expect(r.queries).toHaveLength(4);
    for (const nick of nicks) expect(await usernameOf(clients[0]!, nick)).toBe('~given');
  });

  it('gives K-lines the username registration ends with: "~" for the unanswered, the answer otherwise', async () => {
    let answered = false;
    const r = await startResponder((a, b) => (answered ? `${a} , ${b} : USERID : UNIX : verified\r\n` : `${a} , ${b} : ERROR : NO-USER\r\n`));
    const srv = await s.start(identConfig(r.port));
    bansOf(srv.server).add({ kind: 'K', mask: '~*@127.0.0.1', reason: 'no ident, no entry', setBy: 'test', setAt: Date.now(), expiresAt: undefined });
    const refused = s.track(await TestClient.connect(srv.port));
    refused.send('NICK unsure');
    refused.send('USER given 0 * :Unsure');
    expect((await refused.waitFor('465')).params[1]).toContain('no ident, no entry');
    answered = true;
    const ok = s.track(await client(srv.port, 'sure', { user: 'given' }));
    expect(await usernameOf(ok, 'sure')).toBe('verified');
  });

  it('looks nothing up for a class without ident, and keeps the given username', async () => {
    const r = await startResponder(userid('realuser'));
    const srv = await s.start(identConfig(r.port, {}, { ident: false }));
    const c = s.track(await client(srv.port, 'plain', { user: 'given' }));
    expect(await usernameOf(c, 'plain')).toBe('given');
    expect(r.queries).toEqual([]);
    expect(c.lines.some((l) => l.includes('Ident'))).toBe(false);
  });

  it('looks nothing up for WebSocket clients: in an ident class they get "~"', async () => {
    const r = await startResponder(userid('realuser'));
    const srv = await s.start({
      ...identConfig(r.port),
      listen: [
        { address: '127.0.0.1', port: 0 },
        { address: '127.0.0.1', port: 0, websocket: true },
      ],
    });
    const wsPort = [...srv.server.listeners.values()].find((l) => l.cfg.websocket)!.port;
    const ws = s.track(await TestWebSocket.open(wsPort));
    await ws.register('webber');
    const plain = s.track(await client(srv.port, 'plain', { user: 'given' }));
    expect(await usernameOf(plain, 'webber')).toBe('~web');
    // Only the plain client was looked up.
    expect(r.queries).toHaveLength(1);
  });

  it('does not wait for the lookup of a WEBIRC gateway: its user gets "~"', async () => {
    const r = await startResponder(() => undefined);
    const srv = await s.start({
      ...identConfig(r.port, { timeout: 10 }),
      webirc: [{ name: 'kiwi', hosts: ['127.0.0.1'], password: hashPassword('webirc-secret-1') }],
    });
    const web = s.track(await TestClient.connect(srv.port));
    web.send('WEBIRC webirc-secret-1 kiwi host.example.net 192.0.2.7');
    await web.register('webber', { user: 'given' });
    // Registered while the gateway's own lookup is still unanswered.
    expect(await waitUntil(() => r.held.length === 1, 3000)).toBe(true);
    expect(await usernameOf(web, 'webber')).toBe('~given');
  });

  it('runs at most max_lookups at once; connections beyond get "~" without waiting', async () => {
    const r = await startResponder(() => undefined);
    const srv = await s.start(identConfig(r.port, { max_lookups: 2, timeout: 5 }));
    const held = [await TestClient.connect(srv.port), await TestClient.connect(srv.port)].map((c) => s.track(c));
    for (const [i, c] of held.entries()) {
      c.send(`NICK held${i}`);
      c.send('USER given 0 * :Held');
    }
    // Beyond the bound: no lookup, registered at once with "~", while the two lookups still wait.
    const others: TestClient[] = [];
    for (let i = 0; i < 3; i++) others.push(s.track(await client(srv.port, `other${i}`, { user: 'given' })));
    expect(others.every((c) => !c.lines.some((l) => l.includes('Ident')))).toBe(true);
    expect(await usernameOf(others[0]!, 'other2')).toBe('~given');
    expect(held.some((c) => c.lines.some((l) => / 001 /.test(l)))).toBe(false);
    expect(await waitUntil(() => r.held.length === 2, 3000)).toBe(true);
    expect(r.queries).toHaveLength(2);
    // Once the held lookups end, the bound frees up again.
    for (const sock of r.held) sock.destroy();
    for (const c of held) await c.waitFor('001');
    const later = s.track(await TestClient.connect(srv.port));
    await later.waitFor((m) => m.command === 'NOTICE' && m.params[1] === '*** Checking Ident');
  });
});
