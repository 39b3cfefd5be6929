import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMessageRef, parseTimestamp, selectHistory, type HistoryQuery } from '../../src/modules/history/query.js';

const items = Array.from({ length: 10 }, (_, i) => ({ msgid: `m${i}`, at: 1000 + i * 10 }));
const pick = (q: HistoryQuery) => selectHistory(items, q).map((m) => m.msgid);

describe('message references', () => {
  it('parses msgid and exact server-time timestamps, and tells unknown types from garbage', () => {
    expect(parseMessageRef('msgid=abc')).toEqual({ msgid: 'abc' });
    expect(parseMessageRef('timestamp=2019-01-04T14:33:26.123Z')).toEqual({ at: Date.parse('2019-01-04T14:33:26.123Z') });
    expect(parseMessageRef('timestamp=2019-01-04T14:33:26Z')).toBe('invalid');
    expect(parseMessageRef('timestamp=2019-13-45T14:33:26.123Z')).toBe('invalid');
    expect(parseMessageRef('msgid=')).toBe('invalid');
    expect(parseMessageRef('*')).toBe('invalid');
    expect(parseMessageRef('seq=5')).toBe('unsupported');
    expect(parseTimestamp('2019-01-04T14:33:26.123+01:00')).toBeUndefined();
  });
});

describe('selectHistory', () => {
  it('excludes the references themselves and counts the limit from the first one', () => {
    expect(pick({ kind: 'LATEST', after: undefined, limit: 2 })).toEqual(['m8', 'm9']);
    expect(pick({ kind: 'LATEST', after: { at: 1085 }, limit: 5 })).toEqual(['m9']);
    expect(pick({ kind: 'BEFORE', ref: { at: 1030 }, limit: 2 })).toEqual(['m1', 'm2']);
    expect(pick({ kind: 'AFTER', ref: { msgid: 'm7' }, limit: 5 })).toEqual(['m8', 'm9']);
    expect(pick({ kind: 'BETWEEN', from: { msgid: 'm2' }, to: { at: 1060 }, limit: 2 })).toEqual(['m3', 'm4']);
    expect(pick({ kind: 'BETWEEN', from: { at: 1060 }, to: { msgid: 'm2' }, limit: 2 })).toEqual(['m4', 'm5']);
    expect(pick({ kind: 'AROUND', ref: { msgid: 'm0' }, limit: 3 })).toEqual(['m0', 'm1', 'm2']);
    expect(pick({ kind: 'AROUND', ref: { msgid: 'm9' }, limit: 4 })).toEqual(['m6', 'm7', 'm8', 'm9']);
    expect(pick({ kind: 'AFTER', ref: { msgid: 'gone' }, limit: 5 })).toEqual([]);
  });

  it('always returns a run of consecutive messages, oldest first, within the limit', () => {
    const ref = fc.oneof(
      fc.integer({ min: 0, max: 11 }).map((i) => ({ msgid: `m${i}` })),
      fc.integer({ min: 980, max: 1120 }).map((at) => ({ at })),
    );
    const query: fc.Arbitrary<HistoryQuery> = fc.oneof(
      fc.record({ kind: fc.constant('LATEST' as const), after: fc.option(ref, { nil: undefined }), limit: fc.integer({ min: 1, max: 12 }) }),
      fc.record({ kind: fc.constantFrom('BEFORE' as const, 'AFTER' as const, 'AROUND' as const), ref, limit: fc.integer({ min: 1, max: 12 }) }),
      fc.record({ kind: fc.constant('BETWEEN' as const), from: ref, to: ref, limit: fc.integer({ min: 1, max: 12 }) }),
    );
    fc.assert(
      fc.property(query, (q) => {
        const got = selectHistory(items, q);
        expect(got.length).toBeLessThanOrEqual(q.limit);
        const first = got.length ? items.indexOf(got[0]!) : 0;
        got.forEach((m, i) => expect(m).toBe(items[first + i]));
      }),
    );
  });
});
