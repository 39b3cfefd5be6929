// WHOIS and WHOWAS: the numerics each user may see, hidden channels, errors and the nick history.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { TestClient } from '../support/harness.js';
import { makeOper, putInChannel, serverClient } from '../support/state.js';
import { useSession } from '../support/session.js';
import { makeSelfSignedCert } from '../support/tls.js';

const s = useSession();

async function ask(c: TestClient, line: string): Promise<Message[]> {
  c.send(line);
  return c.collectUntilPong();
}

const commands = (ms: Message[]) => ms.map((m) => m.command);
const find = (ms: Message[], cmd: string) => ms.find((m) => m.command === cmd);

describe('WHOIS', () => {
  it('answers the basic numerics in order and ends with 318', async () => {
    await s.start();
    const a = await s.connect('alice');
    await s.connect('bob', { user: 'bobby', realname: 'Bob B' });
    const r = await ask(a, 'WHOIS bob');
    expect(commands(r)).toEqual(['311', '312', '317', '318']);
    expect(r[0]!.params).toEqual(['alice', 'bob', 'bobby', '127.0.0.1', '*', 'Bob B']);
    expect(r[1]!.params).toEqual(['alice', 'bob', 'irc.test', 'An IRC server']);
    expect(r[2]!.params.slice(0, 2)).toEqual(['alice', 'bob']);
    expect(r[2]!.params[2]).toMatch(/^\d+$/);
    expect(r[2]!.params[3]).toMatch(/^\d{10}$/);
    expect(r[3]!.params).toEqual(['alice', 'bob', 'End of /WHOIS list']);
  });

  it('shows away, operator, account and bot status', async () => {
    await s.start();
    const a = await s.connect('alice');
    const b = await s.connect('bob');
    b.send('AWAY :gone fishing');
    b.send('MODE bob +B');
    await b.waitFor('MODE');
    makeOper(s.srv.server, 'bob');
    serverClient(s.srv.server, 'bob').account = 'bobacct';
    const r = await ask(a, 'WHOIS bob');
    expect(find(r, '301')!.params).toEqual(['alice', 'bob', 'gone fishing']);
    expect(find(r, '313')!.params.slice(0, 2)).toEqual(['alice', 'bob']);
    expect(find(r, '330')!.params).toEqual(['alice', 'bob', 'bobacct', 'is logged in as']);
    expect(find(r, '335')!.params.slice(0, 2)).toEqual(['alice', 'bob']);
    // Real host, IP and modes are for the user itself and privileged operators only.
    expect(commands(r)).not.toContain('378');
    expect(commands(r)).not.toContain('338');
  });

  it('shows real host, IP and modes to yourself and to operators with see_hidden', async () => {
    await s.start();
    const a = await s.connect('alice');
    const b = await s.connect('bob');
    serverClient(s.srv.server, 'bob').host = 'cloaked.example';
    const self = await ask(b, 'WHOIS bob');
    expect(find(self, '311')!.params[3]).toBe('cloaked.example');
    // The real host behind the cloak; here it is the IP as well, so the IP is not repeated.
    expect(find(self, '378')!.params).toEqual(['bob', 'bob', 'is connecting from bob@127.0.0.1']);
    // One line for the real address: no 338 repeating 378.
    expect(commands(self)).not.toContain('338');
    // No modes set: no "is using modes +" line.
    expect(commands(self)).not.toContain('379');
    b.send('MODE bob +i');
    await b.waitFor('MODE');
    expect(find(await ask(b, 'WHOIS bob'), '379')!.params).toEqual(['bob', 'bob', 'is using modes +i']);
    makeOper(s.srv.server, 'alice', ['see_hidden']);
    expect(commands(await ask(a, 'WHOIS bob'))).toEqual(expect.arrayContaining(['378', '379']));
  });

  it('shows your own host once when it is not cloaked, and the IP only when it differs', async () => {
    await s.start();
    const b = await s.connect('bob');
    const self = await ask(b, 'WHOIS bob');
    // 127.0.0.1 is the host (no DNS) and the IP: 311 says it all.
    expect(find(self, '311')!.params[3]).toBe('127.0.0.1');
    expect(commands(self)).not.toContain('378');
    expect(commands(self)).not.toContain('338');
    expect(self.filter((m) => m.params.join(' ').includes('127.0.0.1'))).toHaveLength(1);
    const bob = serverClient(s.srv.server, 'bob');
    bob.host = bob.realHost = 'bob.example';
    const named = await ask(b, 'WHOIS bob');
    expect(find(named, '378')!.params).toEqual(['bob', 'bob', 'is connecting from 127.0.0.1']);
    expect(named.filter((m) => m.params.join(' ').includes('bob.example'))).toHaveLength(1);
  });

  it('shows 671 for TLS users and the certificate fingerprint (276) to the user itself only', async () => {
    const server = makeSelfSignedCert('irc.test');
    const user = makeSelfSignedCert('tlsuser');
    await s.start({ listen: [{ address: '127.0.0.1', port: 0 }, { address: '127.0.0.1', port: 0, tls: server }] });
    const tlsPort = [...s.srv.server.listeners.values()].find((l) => l.cfg.tls)!.port;
    const tls = await TestClient.connectTls(tlsPort, { cert: readFileSync(user.cert), key: readFileSync(user.key) });
    await tls.register('secure');
    const a = await s.connect('alice');
    const expected = new X509Certificate(readFileSync(user.cert)).fingerprint256.replace(/:/g, '').toLowerCase();
    const seen = await ask(a, 'WHOIS secure');
    expect(find(seen, '671')!.params.slice(0, 2)).toEqual(['alice', 'secure']);
    expect(commands(seen)).not.toContain('276');
    expect(find(await ask(tls, 'WHOIS secure'), '276')!.params).toEqual(['secure', 'secure', `has client certificate fingerprint ${expected}`]);
    tls.close();
  });

  it('lists channels with prefixes, hiding secret and private ones from non-members', async () => {
    await s.start();
    const a = await s.connect('alice');
    const m = await s.connect('multi', { caps: ['multi-prefix'] });
    await s.connect('bob');
    const srv = s.srv.server;
    putInChannel(srv, 'bob', '#open', { prefixes: 'ov' });
    putInChannel(srv, 'bob', '#hidden', { flags: 's' });
    putInChannel(srv, 'bob', '#private', { flags: 'p' });
    expect(find(await ask(a, 'WHOIS bob'), '319')!.params).toEqual(['alice', 'bob', '@#open']);
    expect(find(await ask(m, 'WHOIS bob'), '319')!.params).toEqual(['multi', 'bob', '@+#open']);
    putInChannel(srv, 'alice', '#hidden');
    const channels = find(await ask(a, 'WHOIS bob'), '319')!.params[2]!.split(' ').sort();
    expect(channels).toEqual(['#hidden', '@#open']);
  });

  it('splits a long channel list over several 319 lines within the line length', async () => {
    await s.start();
    const a = await s.connect('alice');
    await s.connect('bob');
    const names = Array.from({ length: 30 }, (_, i) => `#channel-with-a-long-name-${i}`);
    for (const n of names) putInChannel(s.srv.server, 'bob', n);
    const start = a.mark;
    const r = await ask(a, 'WHOIS bob');
    const lines = a.lines.slice(start).filter((l) => l.split(' ')[1] === '319');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(Buffer.byteLength(l) + 2).toBeLessThanOrEqual(512);
    const listed = r.filter((m) => m.command === '319').flatMap((m) => m.params[2]!.split(' '));
    expect(listed.sort()).toEqual([...names].sort());
  });

  it('answers 401 then 318 for an unknown nick, 431 without a nick, 402 for another server', async () => {
    await s.start();
    const a = await s.connect('alice');
    expect((await ask(a, 'WHOIS ghost')).map((m) => [m.command, ...m.params])).toEqual([
      ['401', 'alice', 'ghost', 'No such nick/channel'],
      ['318', 'alice', 'ghost', 'End of /WHOIS list'],
    ]);
    expect(commands(await ask(a, 'WHOIS'))).toEqual(['431']);
    expect(commands(await ask(a, 'WHOIS elsewhere.example alice'))).toEqual(['402', '318']);
  });

  it('answers the server and remote forms locally, and several nicks up to the target limit', async () => {
    await s.start({ limits: { max_targets: 2 } });
    const a = await s.connect('alice');
    await s.connect('bob');
    await s.connect('carol');
    expect(commands(await ask(a, 'WHOIS irc.test bob'))).toEqual(['311', '312', '317', '318']);
    expect(commands(await ask(a, 'WHOIS bob bob'))).toEqual(['311', '312', '317', '318']);
    const many = await ask(a, 'WHOIS bob,ghost,carol');
    expect(many.filter((m) => m.command === '318').map((m) => m.params[1])).toEqual(['bob', 'ghost']);
  });
});

describe('WHOWAS', () => {
  it('remembers users that quit or changed nick, newest first, up to <count>', async () => {
    await s.start();
    const a = await s.connect('alice');
    const b1 = await s.connect('bob', { user: 'first' });
    b1.send('QUIT :bye');
    await b1.waitClosed();
    const b2 = await s.connect('bob', { user: 'second', realname: 'Second Bob' });
    b2.send('NICK robert');
    await b2.waitFor('NICK');
    const r = await ask(a, 'WHOWAS bob');
    expect(r.filter((m) => m.command === '314').map((m) => m.params)).toEqual([
      ['alice', 'bob', 'second', '127.0.0.1', '*', 'Second Bob'],
      ['alice', 'bob', 'first', '127.0.0.1', '*', 'Test User'],
    ]);
    expect(find(r, '312')!.params.slice(0, 3)).toEqual(['alice', 'bob', 'irc.test']);
    expect(r.at(-1)!.params).toEqual(['alice', 'bob', 'End of WHOWAS']);
    expect(commands(await ask(a, 'WHOWAS bob 1'))).toEqual(['314', '312', '369']);
    expect(commands(await ask(a, 'WHOWAS bob 0')).filter((c) => c === '314')).toHaveLength(2);
    expect(commands(await ask(a, 'WHOWAS bob -1')).filter((c) => c === '314')).toHaveLength(2);
  });

  it('answers 406 then 369 for unknown nicks and 431 without a nick', async () => {
    await s.start();
    const a = await s.connect('alice');
    expect((await ask(a, 'WHOWAS nobody')).map((m) => [m.command, ...m.params])).toEqual([
      ['406', 'alice', 'nobody', 'There was no such nickname'],
      ['369', 'alice', 'nobody', 'End of WHOWAS'],
    ]);
    expect(commands(await ask(a, 'WHOWAS'))).toEqual(['431']);
  });

  it('keeps at most [limits].whowas entries, dropping the least recently used nicks', async () => {
    await s.start({ limits: { whowas: 2 } });
    const a = await s.connect('alice');
    const c = await s.connect('n0');
    for (const nick of ['n1', 'n2', 'n3']) {
      c.send(`NICK ${nick}`);
      await c.waitFor((m) => m.command === 'NICK' && m.params[0] === nick);
    }
    expect(commands(await ask(a, 'WHOWAS n0'))).toEqual(['406', '369']);
    expect(commands(await ask(a, 'WHOWAS n1'))).toEqual(['314', '312', '369']);
    expect(commands(await ask(a, 'WHOWAS n2'))).toEqual(['314', '312', '369']);
  });

  it('shows the real host to operators with see_hidden', async () => {
    await s.start();
    const a = await s.connect('alice');
    const b = await s.connect('bob');
    b.send('QUIT');
    await b.waitClosed();
    makeOper(s.srv.server, 'alice', ['see_hidden']);
    expect(find(await ask(a, 'WHOWAS bob'), '338')!.params).toEqual(['alice', 'bob', 'bob@127.0.0.1', '127.0.0.1', 'Actual user@host, Actual IP']);
  });
});
