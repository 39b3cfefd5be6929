// TS6 ids (modules/link/ids.ts): every UID a server makes is a valid, distinct TS6 UID of its SID.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeUid, SID_RE, UID_RE } from '../../src/modules/link/ids.js';

const sid = fc.tuple(fc.constantFrom(...'0123456789'), fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'), fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ')).map((c) => c.join(''));

describe('makeUid', () => {
  it('makes a UID of the SID, a letter and five letters or digits', () => {
    fc.assert(
      fc.property(sid, fc.integer({ min: 0, max: 26 * 36 ** 5 - 1 }), (s, n) => {
        expect(SID_RE.test(s)).toBe(true);
        const uid = makeUid(s, n);
        expect(uid.startsWith(s)).toBe(true);
        expect(UID_RE.test(uid)).toBe(true);
      }),
    );
  });

  it('gives distinct numbers distinct UIDs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 26 * 36 ** 5 - 1 }), fc.integer({ min: 0, max: 26 * 36 ** 5 - 1 }), (m, n) => {
        fc.pre(m !== n);
        expect(makeUid('1AB', m)).not.toBe(makeUid('1AB', n));
      }),
    );
    expect(makeUid('1AB', 0)).toBe('1ABAAAAAA');
    expect(makeUid('1AB', 36)).toBe('1ABAAAABA');
  });
});
