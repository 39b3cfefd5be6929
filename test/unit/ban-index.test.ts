import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipBytes, userHostOf } from '../../src/protocol/mask.js';
import { BanIndex, banMatcher, expired, type BanKind, type BanSubject, type ServerBan } from '../../src/store/ban-index.js';

const NOW = 1_000_000;

function ban(kind: BanKind, mask: string, expiresAt?: number): ServerBan {
  return { kind, mask, reason: `${kind} ${mask}`, setBy: 'test', setAt: 0, expiresAt };
}

function subject(user: string, host: string, ip: string, realname: string): BanSubject {
  return { ...userHostOf(user, host, ip), realname: realname.toLowerCase() };
}

/** What the index must answer: the first live ban of the kind, in the order set, that matches. */
function scan(bans: ServerBan[], kind: BanKind, who: BanSubject): ServerBan | undefined {
  return bans.find((b) => b.kind === kind && !expired(b, NOW) && banMatcher(b)(who));
}

// Few distinct values, so that random bans and subjects often meet.
const v4 = fc.tuple(fc.constantFrom(10, 192), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 5 })).map((p) => p.join('.'));
const v6 = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 5 })).map(([a, b]) => `2001:db8:${a}::${b}`);
const ip = fc.oneof(v4, v6);
const range = fc.oneof(
  fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, bits]) => `${a}/${bits}`),
  fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([a, bits]) => `${a}/${bits}`),
  fc.tuple(v4, fc.integer({ min: 96, max: 128 })).map(([a, bits]) => `::ffff:${a}/${bits}`),
  ip,
);
const hostname = fc.constantFrom('a.example', 'b.example', 'x.a.example');
const user = fc.constantFrom('bob', 'alice', '~bob');
const realname = fc.constantFrom('spam bot', 'bob', 'a real name');
const kline = fc
  .tuple(fc.constantFrom('*', 'bob', '?ob', '*b*', 'alice'), fc.oneof(hostname, ip, range, fc.constantFrom('*.example', '*.a.exam*', '10.0.*', '*.*.0.?', '2001:db8:*', '*0*', 'b.ex?mple')))
  .map(([u, h]) => `${u}@${h}`.toLowerCase());
const xline = fc.oneof(realname, fc.constantFrom('*bot*', '*spam*bot', 's?am bot', 'a real*', '?ob', 'a*', '*')).map((r) => r.toLowerCase());
const anyBan = fc
  .tuple(
    fc.oneof(
      range.map((m) => ['D', m] as const),
      kline.map((m) => ['K', m] as const),
      xline.map((m) => ['X', m] as const),
    ),
    fc.constantFrom(undefined, NOW - 1, NOW, NOW + 1),
  )
  .map(([[kind, mask], expiresAt]) => ban(kind, mask, expiresAt));
// A subject's address is not always an IP (a transport may not know it): then only globs and exact hosts can match.
const anySubject = fc.tuple(user, fc.option(hostname), fc.oneof(ip, hostname), realname).map(([u, h, a, r]) => subject(u, h ?? a, a, r));
// Adds, re-adds (a replacement counts as set now) and removals.
const operation = fc.oneof(
  anyBan.map((b) => ({ add: b })),
  fc.nat().map((n) => ({ removeNth: n })),
);

describe('BanIndex', () => {
  it('answers what a scan of every ban in the order set answers', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), fc.array(anySubject, { minLength: 1, maxLength: 10 }), (ops, subjects) => {
        const index = new BanIndex();
        let set: ServerBan[] = [];
        for (const op of ops) {
          if ('add' in op) {
            set = [...set.filter((b) => b.kind !== op.add.kind || b.mask !== op.add.mask), op.add];
            index.add(op.add);
          } else if (set.length > 0) {
            const gone = set[op.removeNth % set.length]!;
            set = set.filter((b) => b !== gone);
            expect(index.delete(gone.kind, gone.mask)).toBe(gone);
          }
        }
        expect([...index.bans()]).toEqual(set);
        for (const who of subjects) {
          if (who.bytes) expect(index.dlineCovering(who.bytes, NOW)).toBe(scan(set, 'D', who));
          expect(index.matching('K', who, NOW)).toBe(scan(set, 'K', who));
          expect(index.matching('X', who, NOW)).toBe(scan(set, 'X', who));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('finds each shape of ban: ranges, exact hosts and realnames, globs', () => {
    const index = new BanIndex();
    const bans = [
      ban('D', '192.0.2.0/24'),
      ban('D', '2001:db8::/48'),
      ban('K', '*@198.51.100.7'),
      ban('K', 'bob@evil.example'),
      ban('K', '*@*.bad.example'),
      ban('X', 'spam bot'),
      ban('X', '*flood*'),
    ];
    for (const b of bans) index.add(b);
    const [dv4, dv6, kIp, kHost, kGlob, xExact, xGlob] = bans;
    expect(index.dlineCovering(ipBytes('192.0.2.200')!)).toBe(dv4);
    expect(index.dlineCovering(ipBytes('2001:db8:0:ffff::1')!)).toBe(dv6);
    expect(index.dlineCovering(ipBytes('192.0.3.1')!)).toBeUndefined();
    expect(index.matching('K', subject('x', 'h.example', '198.51.100.7', 'r'))).toBe(kIp);
    expect(index.matching('K', subject('bob', 'evil.example', '203.0.113.1', 'r'))).toBe(kHost);
    expect(index.matching('K', subject('eve', 'evil.example', '203.0.113.1', 'r'))).toBeUndefined();
    expect(index.matching('K', subject('eve', 'dsl.bad.example', '203.0.113.1', 'r'))).toBe(kGlob);
    expect(index.matching('X', subject('eve', 'h', '203.0.113.1', 'Spam Bot'))).toBe(xExact);
    expect(index.matching('X', subject('eve', 'h', '203.0.113.1', 'a flood of text'))).toBe(xGlob);
    expect(index.matching('X', subject('eve', 'h', '203.0.113.1', 'spam bots'))).toBeUndefined();
  });

  it('never answers an expired ban, and forgets removed ones', () => {
    const index = new BanIndex();
    index.add(ban('D', '192.0.2.1', NOW));
    index.add(ban('K', '*@192.0.2.0/24', NOW));
    index.add(ban('X', '*bot*', NOW - 1));
    const who = subject('bob', '192.0.2.1', '192.0.2.1', 'a bot');
    expect(index.dlineCovering(who.bytes!, NOW)).toBeUndefined();
    expect(index.matching('K', who, NOW)).toBeUndefined();
    expect(index.matching('X', who, NOW)).toBeUndefined();
    expect(index.dlineCovering(who.bytes!, NOW - 1)?.mask).toBe('192.0.2.1');
    index.delete('D', '192.0.2.1');
    expect(index.dlineCovering(who.bytes!, NOW - 1)).toBeUndefined();
    expect(index.size).toBe(2);
  });
});
