// The pure parts of the always-on replay and znc.in/playback: the time put in front of replayed
// text for clients without server-time, and the Unix times PLAY takes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stamp } from '../../src/modules/alwayson/replay.js';
import { playbackTime } from '../../src/modules/playback.js';

describe('stamp', () => {
  it('shows the time alone on the same UTC day, the date too otherwise', () => {
    const now = Date.parse('2026-12-06T12:00:00.000Z');
    expect(stamp(Date.parse('2026-12-06T00:00:01.999Z'), now)).toBe('[00:00:01]');
    expect(stamp(Date.parse('2026-12-05T23:59:59.000Z'), now)).toBe('[2026-12-05 23:59:59]');
  });

  it('always names the second the message was sent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 0, max: 4e12 }), (at, now) => {
        const text = stamp(at, now);
        expect(text).toMatch(/^\[(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d\]$/);
        expect(text.slice(-9, -1)).toBe(new Date(at).toISOString().slice(11, 19));
      }),
    );
  });
});

describe('playbackTime', () => {
  it('reads Unix seconds with an optional fraction, as ms', () => {
    expect(playbackTime('1700000000')).toBe(1700000000000);
    expect(playbackTime('1700000000.25')).toBe(1700000000250);
    expect(playbackTime('0')).toBe(0);
  });

  it('refuses anything else', () => {
    for (const bad of ['', '-1', '1e9', 'yesterday', '1.', '.5', '12345678901234', '1700000000.1234567890']) expect(playbackTime(bad)).toBeUndefined();
  });

  it('round-trips any millisecond written as seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), (ms) => {
        expect(playbackTime((ms / 1000).toFixed(3))).toBe(ms);
      }),
    );
  });
});
