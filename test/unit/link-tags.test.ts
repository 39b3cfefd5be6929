// What a message keeps of its tags when it arrives over a link (src/modules/link/tags.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrivedTags, wireTags } from '../../src/modules/link/tags.js';
import { Outgoing } from '../../src/server/outgoing.js';

describe('tags over links', () => {
  it('keeps msgid, a past time and client-only tags; drops the rest', () => {
    const got = arrivedTags({ msgid: 'abc-1', time: '2026-01-02T03:04:05.678Z', '+draft/reply': 'x', account: 'forged', batch: 'b', label: 'l' });
    expect(got).toEqual({ msgid: 'abc-1', at: Date.parse('2026-01-02T03:04:05.678Z'), clientTags: { '+draft/reply': 'x' } });
  });

  it('replaces a msgid that is not a plain token and a time that is not one, or in the future', () => {
    expect(arrivedTags({ msgid: 'a b', time: 'yesterday' })).toEqual({});
    expect(arrivedTags({ msgid: 'x'.repeat(101), time: new Date(Date.now() + 3600000).toISOString() })).toEqual({});
    expect(arrivedTags(undefined)).toEqual({});
  });

  it('sends msgid, time and client-only tags, never the account or bot tags (each server sets those)', () => {
    const out = new Outgoing({ command: 'PRIVMSG', params: ['#c', 'hi'] }, { time: 't', msgid: 'm', account: 'a', bot: '', '+typing': 'active' });
    expect(wireTags(out)).toEqual({ time: 't', msgid: 'm', '+typing': 'active' });
  });

  it('never keeps more than 30 client-only tags, whatever arrives', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }).map((k) => '+' + k), fc.string({ maxLength: 5 }), { maxKeys: 80 }), (tags) => {
        expect(Object.keys(arrivedTags(tags).clientTags ?? {}).length).toBeLessThanOrEqual(30);
      }),
    );
  });
});
