// Server linking (TS6, phase 1): two or three of our daemons on loopback, linked; users on each
// see the others join, talk, change nick, part and quit; netsplit and relink; refused links.
import { describe, expect, it, vi } from 'vitest';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { makeSelfSignedCert, type CertFiles } from '../support/tls.js';
import { loggedInClient } from '../support/login.js';
import { waitUntil, type TestServer } from '../support/harness.js';
import { LINK_PASSWORD, linkHarness, OPER_PASSWORD } from '../support/link.js';

const { daemon, linked, hubWithLeaves, user, track } = linkHarness();

/** A hub A with leaves B and C connecting to it. */
async function pair(): Promise<{ a: TestServer & { serverPort: number }; b: TestServer & { serverPort: number } }> {
  const a = await daemon('a', '1AA', [{ name: 'b', hub: false }]);
  const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
  await linked(a, b);
  return { a, b };
}

describe('server links (TS6)', () => {
  it('bursts users and channels: each side sees the other side’s users, with the channel and its modes', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b' }]);
    const alice = await user(a, 'alice');
    alice.send('JOIN #net');
    await alice.waitFor('366');
    alice.send('TOPIC #net :hello network');
    await alice.waitFor('TOPIC');
    alice.send('MODE #net +b troll!*@*');
    await alice.waitFor((m) => m.command === 'MODE' && m.params[1] === '+b');
    alice.send('AWAY :at lunch');
    await alice.waitFor('306');
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    await linked(a, b);
    const bob = await user(b, 'bob');
    bob.send('WHOIS alice');
    const whois = await bob.waitFor('311');
    expect(whois.params.slice(1, 3)).toEqual(['alice', expect.any(String)]);
    expect((await bob.waitFor('312')).params[2]).toBe('a.test');
    expect((await bob.waitFor('301')).params[2]).toBe('at lunch');
    bob.send('MODE #net +b');
    // EBMASK carries who set the ban and when.
    const ban = await bob.waitFor('367');
    expect(ban.params[2]).toBe('troll!*@*');
    expect(ban.params[3]).toMatch(/^alice!/);
    bob.send('JOIN #net');
    const topic = await bob.waitFor('332');
    expect(topic.params[2]).toBe('hello network');
    const names = await bob.waitFor('353');
    expect(names.params[3]!.split(' ').sort()).toEqual(['@alice', 'bob']);
    // Alice, on A, sees Bob join over the link.
    const join = await alice.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('bob!') === true);
    expect(join.params[0]).toBe('#net');
  });

  it('relays channel and private messages, nick changes, parts, kicks, modes, away and quits both ways', async () => {
    const { a, b } = await pair();
    const alice = await user(a, 'alice');
    const bob = await user(b, 'bob');
    alice.send('JOIN #chat');
    await alice.waitFor('366');
    await waitUntil(() => !!b.server.state.findChannel('#chat'), 3000);
    bob.send('JOIN #chat');
    await bob.waitFor('366');
    await alice.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('bob!') === true);

    bob.send('PRIVMSG #chat :hi from b');
    expect((await alice.waitFor('PRIVMSG')).params).toEqual(['#chat', 'hi from b']);
    alice.send('PRIVMSG bob :private hello');
    const pm = await bob.waitFor('PRIVMSG');
    expect(pm.source).toMatch(/^alice!/);
    expect(pm.params).toEqual(['bob', 'private hello']);
    bob.send('NOTICE alice :a notice');
    expect((await alice.waitFor('NOTICE')).params).toEqual(['alice', 'a notice']);

    alice.send('MODE #chat +o bob');
    const op = await bob.waitFor((m) => m.command === 'MODE' && m.params[0] === '#chat');
    expect(op.params).toEqual(['#chat', '+o', 'bob']);
    bob.send('TOPIC #chat :set on b');
    expect((await alice.waitFor('TOPIC')).params).toEqual(['#chat', 'set on b']);

    alice.send('RENAME #chat #talk :new name');
    const refused = await alice.waitFor('FAIL');
    expect(refused.params).toEqual(['RENAME', 'CANNOT_RENAME', '#chat', '#talk', 'Channels cannot be renamed while this server is linked to others']);

    bob.send('NICK robert');
    const nick = await alice.waitFor('NICK');
    expect(nick.source).toMatch(/^bob!/);
    expect(nick.params).toEqual(['robert']);
    alice.send('PRIVMSG robert :new name');
    expect((await bob.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'new name')).params[0]).toBe('robert');

    bob.send('AWAY :gone');
    await bob.waitFor('306');
    alice.send('WHOIS robert');
    expect((await alice.waitFor('301')).params[2]).toBe('gone');

    bob.send('PART #chat :bye');
    const part = await alice.waitFor('PART');
    expect(part.source).toMatch(/^robert!/);
    expect(part.params).toEqual(['#chat', 'bye']);
    bob.send('JOIN #chat');
    await alice.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('robert!') === true);
    alice.send('KICK #chat robert :out');
    const kick = await bob.waitFor('KICK');
    expect(kick.params).toEqual(['#chat', 'robert', 'out']);

    bob.send('JOIN #chat');
    await alice.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('robert!') === true);
    bob.send('QUIT :see you');
    const quit = await alice.waitFor('QUIT');
    expect(quit.source).toMatch(/^robert!/);
    expect(quit.params[0]).toBe('Quit: see you');
    await waitUntil(() => !a.server.state.findNick('robert'), 3000);
    expect(a.server.state.findNick('robert')).toBeUndefined();
  });

  it('carries logins: in the EUID of a user logged in already, and as ENCAP SU for a login after', async () => {
    const { a, b } = await pair();
    const dana = await loggedInClient(b.server, b.port, 'dana', 'dana');
    track(dana);
    await waitUntil(() => !!a.server.state.findNick('dana'), 3000);
    expect(a.server.state.findNick('dana')!.account).toBe('dana');
    const alice = await user(a, 'alice');
    const erin = await user(b, 'erin');
    await waitUntil(() => !!a.server.state.findNick('erin'), 3000);
    erin.send('REGISTER * * :a-long-password');
    await erin.waitFor((m) => m.command === 'REGISTER' && m.params[0] === 'SUCCESS');
    await waitUntil(() => a.server.state.findNick('erin')?.account === 'erin', 3000);
    alice.send('WHOIS erin');
    expect((await alice.waitFor('330')).params.slice(1, 3)).toEqual(['erin', 'erin']);
  });

  it('refuses a second server of a name already linked', async () => {
    const { a } = await pair();
    const dup = await rawLink(a.serverPort, [`PASS ${LINK_PASSWORD} TS 6 :4DD`, 'CAPAB :QS EX IE ENCAP EUID TB', 'SERVER b.test 1 :again']);
    expect(dup.some((l) => l.startsWith('ERROR :Closing Link: Server b.test already exists'))).toBe(true);
    expect(a.server.state.findServer('b.test')).toBeDefined();
  });

  it('a netsplit quits the other side’s users with "a.test b.test", and the autoconnect relinks', async () => {
    const { a, b } = await pair();
    const alice = await user(a, 'alice');
    const bob = await user(b, 'bob');
    alice.send('JOIN #split');
    await alice.waitFor('366');
    await waitUntil(() => !!b.server.state.findChannel('#split'), 3000);
    bob.send('JOIN #split');
    await alice.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('bob!') === true);
    // A drops the link: its users see bob quit with the split as the reason.
    const from = alice.mark;
    await squit(a, 'b.test');
    const quit = await alice.waitFor('QUIT', { from });
    expect(quit.source).toMatch(/^bob!/);
    expect(quit.params[0]).toBe('a.test b.test');
    // B sees alice leave the same way, then relinks within its retry interval (1 s).
    const bq = await bob.waitFor('QUIT');
    expect(bq.source).toMatch(/^alice!/);
    expect(bq.params[0]).toBe('b.test a.test');
    await linked(a, b, 6000);
    const back = await alice.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('bob!') === true, { from: alice.mark - 5, timeout: 6000 });
    expect(back.params[0]).toBe('#split');
  });

  it('a hub passes users and messages between two leaves, and a leaf’s split takes only its users', async () => {
    const { a, b, c } = await hubWithLeaves();
    expect(b.server.state.findServer('c.test')!.hops).toBe(2);
    const bob = await user(b, 'bob');
    const links = (await bob.ask('LINKS')).filter((m) => m.command === '364').map((m) => m.params.slice(1));
    expect(links).toEqual(
      expect.arrayContaining([
        ['b.test', 'b.test', '0 An IRC server'],
        ['a.test', 'b.test', '1 An IRC server'],
        ['c.test', 'a.test', '2 An IRC server'],
      ]),
    );
    expect(links).toHaveLength(3);
    const lusers = await bob.ask('LUSERS');
    expect(lusers.find((m) => m.command === '251')!.params[1]).toMatch(/ on 3 servers$/);
    expect(lusers.find((m) => m.command === '255')!.params[1]).toBe('I have 1 clients and 1 servers');
    const carol = await user(c, 'carol');
    await waitUntil(() => !!b.server.state.findNick('carol') && !!c.server.state.findNick('bob'), 3000);
    bob.send('PRIVMSG carol :through the hub');
    const pm = await carol.waitFor('PRIVMSG');
    expect(pm.source).toMatch(/^bob!/);
    expect(pm.params).toEqual(['carol', 'through the hub']);
    carol.send('JOIN #three');
    await carol.waitFor('366');
    await waitUntil(() => !!b.server.state.findChannel('#three'), 3000);
    bob.send('JOIN #three');
    await carol.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('bob!') === true);
    carol.send('PRIVMSG #three :to the channel');
    expect((await bob.waitFor('PRIVMSG')).params).toEqual(['#three', 'to the channel']);
    // C leaves: B sees carol quit with the split of c.test from a.test.
    await squit(a, 'c.test');
    const quit = await bob.waitFor('QUIT');
    expect(quit.source).toMatch(/^carol!/);
    expect(quit.params[0]).toBe('a.test c.test');
    expect(b.server.state.findServer('c.test')).toBeUndefined();
  });

  it('links over TLS with each side’s certificate fingerprint pinned, and refuses a certificate that is not the one pinned', async () => {
    const certA = makeSelfSignedCert('a.test');
    const certB = makeSelfSignedCert('b.test');
    const fp = (c: CertFiles) => new X509Certificate(readFileSync(c.cert)).fingerprint256;
    const a = await daemon('a', '1AA', [{ name: 'b', tls: true, fingerprint: fp(certB) }], {}, certA);
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true, tls: true, fingerprint: fp(certA) }], {}, certB);
    await linked(a, b);
    const alice = await user(a, 'alice');
    const bob = await user(b, 'bob');
    await waitUntil(() => !!a.server.state.findNick('bob'), 3000);
    bob.send('PRIVMSG alice :over tls');
    expect((await alice.waitFor('PRIVMSG')).params).toEqual(['alice', 'over tls']);
    // Someone else's certificate, saying it is b.test: refused with an ERROR and a log line.
    const warnA = vi.spyOn(a.server.log, 'warn');
    const impostor = makeSelfSignedCert('impostor.test');
    const got = await rawLink(a.serverPort, ['PASS linkpass TS 6 :3CC', 'CAPAB :QS EX IE ENCAP EUID', 'SERVER b.test 1 :impostor'], impostor);
    expect(got.some((l) => /^ERROR :Closing Link: TLS certificate fingerprint mismatch for b\.test: got [0-9a-f]{64}$/.test(l))).toBe(true);
    expect(warnA.mock.calls.some(([obj, msg]) => msg === 'server link refused' && /fingerprint mismatch/.test(String((obj as { reason?: string }).reason)))).toBe(true);
    // C pins a fingerprint that is not A's: it refuses A before sending its password.
    const c = await daemon('c', '3CC', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true, tls: true, fingerprint: fp(certB) }], {}, impostor);
    const warnC = vi.spyOn(c.server.log, 'warn');
    await waitUntil(() => warnC.mock.calls.some(([obj]) => /fingerprint mismatch for a\.test/.test(String((obj as { reason?: string }).reason))), 5000);
    expect(a.server.state.findServer('c.test')).toBeUndefined();
    expect(a.server.state.findServer('b.test')).toBeDefined();
  });

  it('refuses a wrong password, and a server without a link block, with an ERROR', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b' }]);
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true, password: 'wrong' }]);
    expect(await waitUntil(() => !!a.server.state.findServer('b.test'), 1500)).toBe(false);
    expect(b.server.state.findServer('a.test')).toBeUndefined();
    const lines = await rawLink(a.serverPort, ['PASS linkpass TS 6 :9ZZ', 'CAPAB :QS EX IE ENCAP EUID TB', 'SERVER nobody.test 1 :who']);
    expect(lines.some((l) => l.startsWith('ERROR :Closing Link: No link block for nobody.test'))).toBe(true);
    const bad = await rawLink(a.serverPort, ['PASS nope TS 6 :9ZZ', 'CAPAB :QS EX IE ENCAP EUID TB', 'SERVER b.test 1 :who']);
    expect(bad.some((l) => l.startsWith('ERROR :Closing Link: Bad password for b.test'))).toBe(true);
    const early = await rawLink(a.serverPort, ['NICK x']);
    expect(early.some((l) => l.startsWith('ERROR :Closing Link: NICK before the end of the handshake'))).toBe(true);
  });

  it('a nick taken on both sides by different user@hosts keeps the older one and saves the younger (renamed to its UID)', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b' }]);
    const older = await user(a, 'same', { user: 'first' });
    await new Promise((r) => setTimeout(r, 1100));
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    // Registered a second later on B: its TS is higher, so it loses, and is saved, not killed.
    const younger = await user(b, 'same', { user: 'second' });
    await linked(a, b);
    const saved = await younger.waitFor('043');
    const uid = saved.params[1]!;
    expect(uid).toMatch(/^2BB[A-Z][A-Z0-9]{5}$/);
    const nick = await younger.waitFor('NICK');
    expect(nick.source).toMatch(/^same!/);
    expect(nick.params).toEqual([uid]);
    expect(younger.closed).toBe(false);
    expect(older.closed).toBe(false);
    for (const s of [a, b]) {
      await waitUntil(() => s.server.state.findNick(uid) !== undefined, 2000);
      expect(s.server.state.serverOf(s.server.state.findNick('same')!).name).toBe('a.test');
      expect(s.server.state.serverOf(s.server.state.findNick(uid)!).name).toBe('b.test');
    }
  });

  it('a nick taken on both sides by the same user@host keeps the newer one (a reconnect) and saves the older', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b' }]);
    const older = await user(a, 'same', { user: 'me' });
    await new Promise((r) => setTimeout(r, 1100));
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    const newer = await user(b, 'same', { user: 'me' });
    await linked(a, b);
    const uid = (await older.waitFor('043')).params[1]!;
    expect(uid).toMatch(/^1AA/);
    expect(older.closed).toBe(false);
    expect(newer.closed).toBe(false);
    for (const s of [a, b]) {
      await waitUntil(() => s.server.state.findNick(uid) !== undefined, 2000);
      expect(s.server.state.serverOf(s.server.state.findNick('same')!).name).toBe('b.test');
    }
  });

  it('a chain A–B–C split at B–C: a nick taken on both sides meanwhile is resolved by SAVE at the relink, nobody killed, no ghosts', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b', hub: true }]);
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }, { name: 'c' }]);
    const c = await daemon('c', '3CC', [{ name: 'b', port: b.serverPort, autoconnect: true, hub: true, retry: 2 }]);
    await linked(a, b);
    await linked(b, c);
    await linked(a, c);
    await squit(b, 'c.test');
    // During the split the nick is free on both sides: taken on A and on C.
    const left = await user(a, 'dup', { user: 'left' });
    const right = await user(c, 'dup', { user: 'right' });
    await linked(b, c, 8000);
    await linked(a, c);
    // One of them (both when they registered in the same second) is renamed to its UID.
    const savedLine = () => [...left.lines, ...right.lines].find((l) => / 043 /.test(l));
    await waitUntil(() => savedLine() !== undefined, 5000);
    expect(savedLine()).toMatch(/ 043 dup (1AA|3CC)[A-Z][A-Z0-9]{5} :Nick collision/);
    const nicksOf = (s: TestServer) =>
      [...s.server.state.clients].filter((u) => u.registered && /^(dup|1AA|3CC)/.test(u.nick)).map((u) => `${u.nick}@${s.server.state.serverOf(u).name}`).sort();
    await waitUntil(() => [a, b, c].every((s) => nicksOf(s).length === 2) && new Set([a, b, c].map((s) => nicksOf(s).join())).size === 1, 5000);
    // Every server sees the same two users under the same nicks: no ghost, no one killed.
    expect(new Set([a, b, c].map((s) => nicksOf(s).join())).size).toBe(1);
    expect(nicksOf(b)).toHaveLength(2);
    expect(left.closed).toBe(false);
    expect(right.closed).toBe(false);
    expect([...left.lines, ...right.lines].some((l) => / KILL /.test(l))).toBe(false);
  });

  it('on a netjoin the older channel keeps its modes and operators, the younger side loses its own', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b' }]);
    const alice = await user(a, 'alice');
    alice.send('JOIN #ts');
    await alice.waitFor('366');
    alice.send('MODE #ts +b keep!*@*');
    await alice.waitFor((m) => m.command === 'MODE' && m.params[1] === '+b');
    await new Promise((r) => setTimeout(r, 1100));
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    const bob = await user(b, 'bob');
    bob.send('JOIN #ts');
    await bob.waitFor('366');
    bob.send('MODE #ts +sb spam!*@*');
    await bob.waitFor((m) => m.command === 'MODE' && m.params[1] === '+sb');
    await linked(a, b);
    // Bob's channel was made a second later: his op and his +s go, alice's op arrives.
    const lost = await bob.waitFor((m) => m.command === 'MODE' && m.params[1]!.startsWith('-'));
    expect(lost.params[1]).toContain('o');
    expect(lost.params[1]).toContain('s');
    const gained = await bob.waitFor((m) => m.command === 'MODE' && m.params[1] === '+o');
    expect(gained.params[2]).toBe('alice');
    await waitUntil(() => a.server.state.findChannel('#ts')!.members.size === 2, 3000);
    const onA = a.server.state.findChannel('#ts')!;
    const bobOnA = a.server.state.findNick('bob')!;
    expect(onA.members.get(bobOnA)).toBe('');
    expect(onA.flags.has('s')).toBe(false);
    expect(b.server.state.findChannel('#ts')!.members.get(b.server.state.findNick('bob')!)).toBe('');
    // Bob's ban went with his modes; alice's came with her burst: both servers hold only hers.
    await waitUntil(() => b.server.state.findChannel('#ts')!.list('b').length === 1, 3000);
    for (const s of [a, b]) expect(s.server.state.findChannel('#ts')!.list('b').map((e) => e.mask)).toEqual(['keep!*@*']);
  });

  it('an oper’s KILL of a user on the other server disconnects it there', async () => {
    const { a, b } = await pair();
    const bob = await user(b, 'bob');
    await waitUntil(() => !!a.server.state.findNick('bob'), 3000);
    const op = await user(a, 'killer');
    const killConfigured = a.server.config.oper_class[0]!.privileges.includes('kill');
    expect(killConfigured).toBe(true);
    op.send(`OPER root ${OPER_PASSWORD}`);
    await op.waitFor('381');
    op.send('KILL bob :enough');
    await bob.waitClosed(3000);
    expect(bob.lines.some((l) => l.includes('KILL bob'))).toBe(true);
    await waitUntil(() => !a.server.state.findNick('bob') && !b.server.state.findNick('bob'), 3000);
    expect(b.server.state.findNick('bob')).toBeUndefined();
  });
});

/** An operator on `ts` with the "routing" privilege drops the link to the server named. */
async function squit(ts: TestServer, name: string): Promise<void> {
  const op = await user(ts, `op${Math.random().toString(36).slice(2, 7)}`);
  op.send(`OPER root ${OPER_PASSWORD}`);
  await op.waitFor('381');
  op.send(`SQUIT ${name} :test split`);
  await waitUntil(() => !ts.server.state.findServer(name), 3000);
}

/** Speaks the first lines of a link handshake and returns what the server answered until it closed. */
function rawLink(port: number, lines: string[], cert?: CertFiles): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = [];
    let buf = '';
    const write = () => s.write(lines.map((l) => l + '\r\n').join(''));
    const s = cert
      ? connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false, cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, write)
      : connect({ host: '127.0.0.1', port }, write);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\r\n')) !== -1) {
        got.push(buf.slice(0, i));
        buf = buf.slice(i + 2);
      }
    });
    s.on('close', () => resolve(got));
    s.on('error', () => {});
    setTimeout(() => s.destroy(), 3000).unref();
  });
}
