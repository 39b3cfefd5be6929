import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_DURATION_SECONDS, parseDuration } from '../../src/protocol/duration.js';

describe('parseDuration', () => {
  it('reads each unit', () => {
    expect(parseDuration('45s')).toBe(45);
    expect(parseDuration('30m')).toBe(1800);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('7d')).toBe(7 * 86400);
    expect(parseDuration('2w')).toBe(14 * 86400);
    expect(parseDuration('1y')).toBe(365 * 86400);
  });

  it('adds combined units in any order and case', () => {
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('30M1H')).toBe(5400);
    expect(parseDuration('1d1h1m1s')).toBe(86400 + 3600 + 61);
  });

  it('takes a bare number as seconds and "perm" / 0 as permanent', () => {
    expect(parseDuration('90')).toBe(90);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('perm')).toBe(0);
    expect(parseDuration('permanent')).toBe(0);
  });

  it('refuses what is not a duration', () => {
    for (const bad of ['', 'h', '1x', '1h 30m', '-5', '1.5h', '*@host', 'abc', '10000000000000'])
      expect(parseDuration(bad), bad).toBeUndefined();
    expect(parseDuration('11y')).toBeUndefined(); // above the ten-year cap
  });

  it('round-trips with formatDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_DURATION_SECONDS }), (n) => {
        expect(parseDuration(formatDuration(n))).toBe(n);
      }),
    );
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(0)).toBe('permanent');
  });
});
