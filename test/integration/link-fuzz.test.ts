// Fuzzing the server protocol (issue #17, "Proof"): a hub A linked to a real daemon B and to a
// fake server F driven by this test. F did the handshake and a burst of its own (a server G
// behind it, users, channels), then sends random and mutated TS6 lines: EUID, SJOIN, TMODE,
// BMASK, TB, NICK, KILL, SQUIT, ENCAP, PRIVMSG... with wrong counts, bad UIDs and SIDs, huge
// parameters, unknown users and channels, bytes that are not UTF-8, and lines of users that are
// not behind F (from the wrong direction). After each batch: no line failed in A's or B's log,
// both pass the link module's consistency check (linkProblems), B agrees with A on every user,
// channel and member, and F's link is either still up or was dropped with an ERROR and a log line.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md
import fc from 'fast-check';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkProblems } from '../../src/modules/link/consistency.js';
import { userIds } from '../../src/modules/link/ids.js';
import { networkOf } from '../../src/modules/link/index.js';
import { client, waitUntil, type TestClient, type TestServer } from '../support/harness.js';
import { FakeLink } from '../support/fakelink.js';
import { linkBlock, linkDaemon } from '../support/link.js';

const dir = mkdtempSync(join(tmpdir(), 'ircd-link-fuzz-'));
const logOf = { a: join(dir, 'a.log'), b: join(dir, 'b.log') };

let a: TestServer & { serverPort: number };
let b: TestServer & { serverPort: number };
const locals: TestClient[] = [];

const daemon = (name: string, sid: string, log: string, links: object[]) => linkDaemon(`${name}.test`, sid, links as never, { log: { level: 'info', destination: log } });
const block = (name: string, extra: object = {}) => linkBlock(name, extra as never);

// ---- the fake server F ---------------------------------------------------------------------

const F_SID = '9FF';
const G_SID = '8GG';
/** F's and G's users of the burst; the fuzz adds more (fresh UIDs). */
const F_UIDS = ['9FFAAAAAA', '9FFAAAAAB', '9FFAAAAAC'];
const G_UIDS = ['8GGAAAAAA', '8GGAAAAAB'];

/** F: the handshake, then its burst (G behind it, users, channels). */
async function openF(port: number): Promise<FakeLink> {
  const f = await FakeLink.open(port, { name: 'f.test', sid: F_SID, peer: 'a.test' });
  const now = Math.floor(Date.now() / 1000);
  f.write([
    `:${F_SID} SID g.test 2 ${G_SID} :behind f`,
    ...F_UIDS.map((uid, i) => `:${F_SID} EUID f${i} 1 ${now - 100} +i f${i} f.host 127.0.0.9 ${uid} f.host * :F user ${i}`),
    ...G_UIDS.map((uid, i) => `:${G_SID} EUID g${i} 2 ${now - 100} + g${i} g.host 0 ${uid} * acct${i} :G user ${i}`),
    `:${F_SID} SJOIN ${now - 1000} #fuzz +nt :@${F_UIDS[0]} +${F_UIDS[1]} ${G_UIDS[0]}`,
    `:${F_SID} SJOIN ${now + 1000} #local +s :${F_UIDS[2]} ${G_UIDS[1]}`,
    `:${F_SID} SJOIN ${now} #far + :@${G_UIDS[0]}`,
  ]);
  if (!(await f.sync())) throw new Error(`the fake link's burst was refused:\n${f.lines.slice(-5).join('\n')}`);
  return f;
}

// ---- the generators ------------------------------------------------------------------------

let fresh = 0;
const freshUid = () => `9FFB${String(fresh++).padStart(5, '0').slice(-5)}`;
/** UIDs of users A has but F may not speak for, filled once the daemons run. */
const wrongWay: string[] = [];

const ts = fc.oneof(
  fc.constantFrom('0', '-1', '1', 'abc', '', '99999999999999999999', '1e9', 'NaN'),
  fc.integer({ min: -200, max: 200 }).map((d) => String(Math.floor(Date.now() / 1000) + d * 10)),
);
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('x'.repeat(600), 'é\u{1F600}', '\x01ACTION hi\x01', ' ', ':', ''),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
const nick = fc.oneof(
  fc.constantFrom('alice', 'bob', 'carol', 'f0', 'g1', 'new', '1abc', '#x', '-x', '', ':', 'a'.repeat(100), 'nick\u00e9', '9FFAAAAAA'),
  fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/),
);
const sid = fc.constantFrom(F_SID, G_SID, '1AA', '2BB', '7ZZ', 'ABC', '', '999', '7ZY');
const uid = fc.oneof(
  fc.constantFrom(...F_UIDS, ...G_UIDS, '9FFZZZZZZ', '7ZZAAAAAA', 'bad', '', '9FF', 'x'.repeat(300)),
  fc.constant(null).map(() => wrongWay[Math.floor(Math.random() * Math.max(1, wrongWay.length))] ?? '1AAAAAAAA'),
);
const source = fc.oneof(uid, sid, fc.constantFrom('f.test', 'g.test', 'a.test', 'nobody.test'));
const chan = fc.oneof(
  fc.constantFrom('#fuzz', '#local', '#far', '#FUZZ', '#new', '&amp', 'nochan', '', '#a,#b', '#' + 'c'.repeat(300), '#\x07bell', '@#fuzz', '+#fuzz'),
  fc.stringMatching(/^#[a-z]{1,6}$/),
);
const modes = fc.oneof(
  fc.constantFrom('+', '-', '+nt', '+o', '-o', '+v', '+ov', '+b', '-b', '+k', '+l', '+lk', '+s-t', '+imnpst', '+e', '+I', '+q', '+Z', '+ooooooo', '++--'),
  fc.stringMatching(/^[+-][a-zA-Z]{1,6}$/),
);
const members = fc.array(fc.tuple(fc.constantFrom('', '@', '+', '@+', '%', '!'), uid), { maxLength: 6 }).map((m) => m.map(([p, u]) => p + u).join(' '));

const template = fc.oneof(
  fc.tuple(uid, nick, ts).map(([u, n, t]) => `:${u} NICK ${n} ${t}`),
  fc
    .tuple(sid, nick, ts, modes, fc.constantFrom('user', 'u', '~x', 'x'.repeat(40)), fc.constantFrom('h.example', '1.2.3.4', 'x'.repeat(100)), fc.constantFrom('0', '127.0.0.1', '::1', 'junk'), fc.oneof({ weight: 1, arbitrary: uid }, { weight: 3, arbitrary: fc.constant(null).map(freshUid) }), fc.constantFrom('*', 'acct', ''), text)
    .map(([s, n, t, m, u, h, ip, id, acc, r]) => `:${s} EUID ${n} 1 ${t} ${m} ${u} ${h} ${ip} ${id} ${h} ${acc} :${r}`),
  fc.tuple(sid, ts, chan, modes, members).map(([s, t, c, m, list]) => `:${s} SJOIN ${t} ${c} ${m} :${list}`),
  fc.tuple(source, ts, chan, modes, fc.array(fc.oneof(uid, nick, fc.constantFrom('*!*@*', '10', 'key')), { maxLength: 4 }), fc.constantFrom('', ' :a b', ' :', ' ::x')).map(([s, t, c, m, args, last]) => `:${s} TMODE ${t} ${c} ${m} ${args.join(' ')}${last}`),
  fc.tuple(sid, ts, chan, fc.constantFrom('b', 'e', 'I', 'q', 'o', '', 'bb'), fc.array(fc.constantFrom('*!*@x', 'a!b@c', '$a:acct', 'x'.repeat(200), '!'), { maxLength: 5 })).map(([s, t, c, l, m]) => `:${s} BMASK ${t} ${c} ${l} :${m.join(' ')}`),
  fc.tuple(sid, chan, ts, fc.constantFrom('someone', 'a!b@c', ''), text).map(([s, c, t, by, x]) => `:${s} TB ${c} ${t} ${by} :${x}`),
  fc.tuple(uid, ts, chan).map(([u, t, c]) => `:${u} JOIN ${t} ${c} +`),
  fc.tuple(uid, chan, text).map(([u, c, x]) => `:${u} PART ${c} :${x}`),
  fc.tuple(source, chan, uid, text).map(([s, c, u, x]) => `:${s} KICK ${c} ${u} :${x}`),
  fc.tuple(source, uid, text).map(([s, u, x]) => `:${s} KILL ${u} :${x}`),
  fc.tuple(source, fc.oneof(sid, fc.constantFrom('g.test', 'b.test', 'a.test', 'f.test')), text).map(([s, t, x]) => `:${s} SQUIT ${t} :${x}`),
  fc.tuple(sid, fc.constantFrom('h.test', 'g.test', 'b.test', 'x', 'a'.repeat(80)), sid, text).map(([s, n, id, x]) => `:${s} SID ${n} 2 ${id} :${x}`),
  fc.tuple(source, fc.constantFrom('*', 'a.test', '*.test', 'nowhere'), fc.constantFrom('SU', 'REALHOST', 'CERTFP', 'LOGIN', 'SASL', 'XX', 'REALNAME', 'REDACT'), uid, fc.constantFrom('acct', '', '*', 'x'.repeat(100), ':a b', '::x')).map(([s, m, sub, u, acc]) => `:${s} ENCAP ${m} ${sub} ${u} ${acc}`),
  fc
    .tuple(fc.option(fc.dictionary(fc.constantFrom('msgid', 'time', '+draft/reply', '+typing', 'account', 'batch', '+x'), fc.constantFrom('', 'abc', '2020-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z', 'x'.repeat(200), 'a\\sb'), { maxKeys: 4 })), uid, fc.constantFrom('PRIVMSG', 'NOTICE', 'TAGMSG'), fc.oneof(chan, uid, nick, fc.constantFrom('$*', 'alice@a.test')), text)
    .map(([tags, u, c, t, x]) => `${tags ? '@' + Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(';') + ' ' : ''}:${u} ${c} ${t} :${x}`),
  fc.tuple(uid, text).map(([u, x]) => `:${u} QUIT :${x}`),
  fc.tuple(uid, text).map(([u, x]) => `:${u} AWAY :${x}`),
  fc.tuple(uid, uid, modes).map(([u, t, m]) => `:${u} MODE ${t} ${m}`),
  fc.tuple(source, uid, fc.constantFrom('new.host', '', ':bad host', 'x'.repeat(100), ':', '::x')).map(([s, u, h]) => `:${s} CHGHOST ${u} ${h}`),
  fc.tuple(uid, chan, text).map(([u, c, x]) => `:${u} TOPIC ${c} :${x}`),
  fc.constantFrom(`:${F_SID} PING f.test :1AA`, `:${F_SID} PONG f.test :1AA`, 'PING :x', 'ERROR :fuzzed', 'CAPAB :QS', `SVINFO 6 6 0 :1`, 'SERVER x.test 1 :x', `PASS x TS 6 :9FF`, 'WHATEVER a b c', ':9FF', ''),
);

/** A template line with its parameters cut, repeated or bytes changed: wrong counts, broken tokens. */
const line = fc.oneof(
  { weight: 3, arbitrary: template.map((l) => Buffer.from(l)) },
  {
    weight: 2,
    arbitrary: fc.tuple(template, fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('replace', 'insert', 'delete', 'cut', 'drop-param', 'dup-param')), { minLength: 1, maxLength: 4 })).map(([l, edits]) => {
      let bytes = [...Buffer.from(l)];
      for (const [at, byte, op] of edits) {
        const i = bytes.length ? at % bytes.length : 0;
        if (op === 'replace') bytes[i] = byte === 10 || byte === 13 || byte === 0 ? 0x80 : byte;
        else if (op === 'insert') bytes.splice(i, 0, byte === 10 || byte === 13 || byte === 0 ? 0xff : byte);
        else if (op === 'delete') bytes.splice(i, 1);
        else if (op === 'cut') bytes.length = i;
        else {
          const words = Buffer.from(bytes).toString('latin1').split(' ');
          const w = at % words.length;
          if (op === 'drop-param') words.splice(w, 1);
          else words.splice(w, 0, words[w]!);
          bytes = [...Buffer.from(words.join(' '), 'latin1')];
        }
      }
      return Buffer.from(bytes);
    }),
  },
);

// ---- the checks ----------------------------------------------------------------------------

function logged(file: string, pattern: RegExp): string[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => pattern.test(l));
}

const FAILURES = /"level":(50|60)|"msg":"(command failed|subscriber failed|server link line failed)"|uncaught|unhandled/;

/** What a server knows of the network, as text both sides must agree on. */
function view(ts: TestServer): string[] {
  const state = ts.server.state;
  const out: string[] = [];
  for (const u of state.clients) if (u.registered && !state.isService(u)) out.push(`user ${u.nick} ${u.user}@${u.host} on ${state.serverOf(u).name} modes ${[...u.modes].sort().join('')} account ${u.account ?? '-'} away ${u.away ?? '-'} real ${u.realname}`);
  for (const c of state.channels.values()) {
    const members = [...c.members].map(([m, p]) => p + m.nick).sort();
    out.push(`channel ${c.name} +${[...c.flags].sort().join('')} key ${c.key ?? '-'} limit ${c.limit ?? '-'} topic ${c.topic?.text ?? '-'} members ${members.join(' ')}`);
    for (const [letter, entries] of c.lists) out.push(`list ${c.name} ${letter} ${entries.map((e) => e.mask).sort().join(' ')}`);
  }
  return out.sort();
}

beforeAll(async () => {
  a = await daemon('a', '1AA', logOf.a, [block('b.test'), block('f.test', { hub: true })]);
  b = await daemon('b', '2BB', logOf.b, [block('a.test', { port: a.serverPort, autoconnect: true, hub: true })]);
  await waitUntil(() => !!a.server.state.findServer('b.test') && !!b.server.state.findServer('a.test'), 5000);
  for (const [ts, nickName] of [
    [a, 'alice'],
    [a, 'bob'],
    [b, 'carol'],
  ] as const) {
    const c = await client(ts.port, nickName);
    c.send('JOIN #fuzz,#local');
    await c.collectUntilPong();
    locals.push(c);
  }
});

afterAll(async () => {
  for (const c of locals) c.close();
  await b?.stop();
  await a?.stop();
});

describe('fuzzing the server protocol', () => {
  it('random and mutated server lines never crash a daemon, never leave State inconsistent, never desync silently', async () => {
    const net = networkOf.get(a.server)!;
    let f = await openF(a.serverPort);
    let sent = 0;
    let drops = 0;
    const seen = new Map<TestClient, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 5, maxLength: 40 }), async (lines) => {
        // Users F may not speak for: A's own and B's (behind A, not F).
        wrongWay.length = 0;
        for (const u of a.server.state.clients) {
          const ids = userIds.get(u);
          if (u.registered && (!ids?.home || ids.home.name === 'b.test')) wrongWay.push(net.uid(u));
        }
        sent += lines.length;
        const before = f.lines.length;
        f.write(lines);
        if (!(await f.sync())) {
          // Dropped: with an ERROR saying why, and a log line on A.
          drops++;
          const error = f.lines.slice(before).find((l) => l.startsWith('ERROR :Closing Link: '));
          expect(error, `link closed without an ERROR after:\n${lines.map((l) => l.toString('latin1')).join('\n')}`).toBeDefined();
          expect(await waitUntil(() => logged(logOf.a, /"msg":"server link closed"/).length >= drops, 2000)).toBe(true);
          await waitUntil(() => !a.server.state.findServer('f.test'), 2000);
          f = await openF(a.serverPort);
        }
        expect(linkProblems(a.server, net)).toEqual([]);
        // B hears of everything through A: it must come to the same picture of the network.
        const agree = await waitUntil(() => JSON.stringify(view(a)) === JSON.stringify(view(b)), 3000);
        if (!agree) expect({ lines: lines.map((l) => l.toString('latin1')), b: view(b) }).toEqual({ lines: lines.map((l) => l.toString('latin1')), b: view(a) });
        expect(linkProblems(b.server, networkOf.get(b.server)!)).toEqual([]);
        expect([...logged(logOf.a, FAILURES), ...logged(logOf.b, FAILURES)]).toEqual([]);
        // What A passed on never made B drop their link.
        expect(logged(logOf.b, /"msg":"server link closed"/)).toEqual([]);
        // Nothing a local user received is broken: one line each, with a source and a command.
        for (const c of locals) {
          const bad = c.lines.slice(seen.get(c) ?? 0).filter((l) => /[\r\n\0]/.test(l) || !/^((@\S+ )?:\S+ [A-Z0-9]+( |$)|ERROR :)/.test(l));
          seen.set(c, c.lines.length);
          expect(bad).toEqual([]);
        }
        // Local users killed or collided by the fuzz come back, so later lines find them.
        for (let i = 0; i < locals.length; i++) {
          if (!locals[i]!.closed) continue;
          const at = i === 2 ? b : a;
          const c = await client(at.port, `${['alice', 'bob', 'carol'][i]}${fresh++}`);
          c.send('JOIN #fuzz,#local');
          await c.collectUntilPong();
          locals[i] = c;
        }
      }),
      { numRuns: 250, endOnFailure: true },
    );
    console.log(`link fuzz: ${sent} lines in 250 runs, link dropped ${drops} times`);
    expect(sent).toBeGreaterThan(2000);
    // Both daemons still link, answer and agree.
    f.close();
    await waitUntil(() => !a.server.state.findServer('f.test'), 2000);
    const after = await client(b.port, 'afterwards');
    after.send('WHOIS alice');
    expect((await after.collectUntilPong()).some((m) => m.command === '312' || m.command === '401')).toBe(true);
    after.close();
    expect(await waitUntil(() => JSON.stringify(view(a)) === JSON.stringify(view(b)), 3000)).toBe(true);
    expect(linkProblems(a.server, net)).toEqual([]);
  }, 120000);

  it('regressions the fuzz found: no empty channels, no words with spaces, no bad nicks, no UIDs of another server', async () => {
    const f = await openF(a.serverPort);
    const now = Math.floor(Date.now() / 1000);
    f.write([
      // An SJOIN of no one A knows made an empty channel.
      `:${F_SID} SJOIN ${now} #nobody + :${F_SID}ZZZZZZ 1AAZZZZZZ`,
      // A host, an account and a ban mask with a space would break the EUID and BMASK lines A sends on.
      `:${F_SID} CHGHOST ${F_UIDS[0]} :bad host`,
      `:${F_SID} ENCAP * SU ${F_UIDS[0]} :an account`,
      `:${F_UIDS[0]} ENCAP * LOGIN :an account`,
      // A LOGIN addressed to A alone would set the account on A and not on B.
      `:${F_UIDS[0]} ENCAP a.test LOGIN onlyhere`,
      `:${F_SID} TMODE ${now - 1000} #fuzz +b :a b`,
      // A nick A would refuse: the user is killed back toward F, never introduced.
      `:${F_SID} EUID #bad 1 ${now} + u h 0 ${F_SID}AAAAAZ * * :bad nick`,
      // Lines sourced by A's own SID, or by a user not behind F, are not F's to send.
      `:1AA TB #fuzz ${now - 5000} x :from the wrong side`,
    ]);
    expect(await f.sync()).toBe(true);
    expect(a.server.state.findChannel('#nobody')).toBeUndefined();
    const f0 = a.server.state.findNick('f0')!;
    expect(f0.host).toBe('f.host');
    expect(f0.account).toBeUndefined();
    expect((a.server.state.findChannel('#fuzz')!.lists.get('b') ?? []).map((e) => e.mask)).not.toContain('a b');
    expect(a.server.state.findNick('#bad')).toBeUndefined();
    expect(f.lines.some((l) => l === `:1AA KILL ${F_SID}AAAAAZ :a.test (Bad nickname)`)).toBe(true);
    expect(a.server.state.findChannel('#fuzz')!.topic?.text).not.toBe('from the wrong side');
    expect(await waitUntil(() => logged(logOf.a, /"msg":"server link line ignored"/).length > 0, 2000)).toBe(true);
    // A UID must start with the SID of the server introducing it: the link is dropped.
    f.write([`:${G_SID} EUID other 2 ${now} + u h 0 ${F_SID}AAAAAY * * :wrong sid`]);
    expect(await f.sync()).toBe(false);
    expect(f.lines.some((l) => l.startsWith(`ERROR :Closing Link: UID ${F_SID}AAAAAY is invalid or already used`))).toBe(true);
    expect(linkProblems(a.server, networkOf.get(a.server)!)).toEqual([]);
  });
});
