import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packLines, truncateUtf8 } from '../../src/protocol/text.js';

const bytes = (s: string) => Buffer.byteLength(s);
/** Characters of each UTF-8 width, so that generated cuts often fall inside one. */
const widths = fc.constantFrom('a', 'é', '€', '😀');

describe('truncateUtf8', () => {
  it('keeps text that fits and cuts ASCII at the byte count', () => {
    expect(truncateUtf8('hello', 5)).toBe('hello');
    expect(truncateUtf8('hello', 10)).toBe('hello');
    expect(truncateUtf8('hello', 3)).toBe('hel');
    expect(truncateUtf8('hello', 0)).toBe('');
  });

  it('never splits a 2-, 3- or 4-byte character', () => {
    // é is 2 bytes, € 3, 😀 4 (a surrogate pair in the JS string).
    expect(truncateUtf8('aé', 2)).toBe('a');
    expect(truncateUtf8('aé', 3)).toBe('aé');
    expect(truncateUtf8('a€b', 3)).toBe('a');
    expect(truncateUtf8('a€b', 4)).toBe('a€');
    expect(truncateUtf8('😀😀', 7)).toBe('😀');
    expect(truncateUtf8('😀😀', 3)).toBe('');
    expect(truncateUtf8('x😀', 4)).toBe('x');
    expect(truncateUtf8('日本語', 8)).toBe('日本');
  });

  it('returns the longest whole-character prefix within the limit', () => {
    fc.assert(
      fc.property(fc.string({ unit: widths, maxLength: 30 }), fc.integer({ min: 0, max: 100 }), (text, max) => {
        const cut = truncateUtf8(text, max);
        const chars = [...text];
        const kept = [...cut];
        expect(kept).toEqual(chars.slice(0, kept.length));
        expect(bytes(cut)).toBeLessThanOrEqual(max);
        if (kept.length < chars.length) expect(bytes(cut + chars[kept.length]!)).toBeGreaterThan(max);
      }),
    );
  });
});

describe('packLines', () => {
  it('fills each line up to the budget, separators counted', () => {
    expect(packLines(['aa', 'bb', 'cc'], 5)).toEqual([['aa', 'bb'], ['cc']]);
    expect(packLines(['aa', 'bb', 'cc'], 8)).toEqual([['aa', 'bb', 'cc']]);
    expect(packLines(['aa', 'bb', 'cc'], 7)).toEqual([['aa', 'bb'], ['cc']]);
    expect(packLines([], 10)).toEqual([]);
  });

  it('measures UTF-8 bytes, not characters', () => {
    expect(packLines(['é', 'é'], 4)).toEqual([['é'], ['é']]);
    expect(packLines(['é', 'é'], 5)).toEqual([['é', 'é']]);
  });

  it('gives an item longer than the budget a line of its own', () => {
    expect(packLines(['a', 'toolong', 'b'], 3)).toEqual([['a'], ['toolong'], ['b']]);
  });

  it('puts at most maxItems on a line', () => {
    expect(packLines(['a', 'b', 'c', 'd', 'e'], 100, 2)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('keeps every item in order, within the limits, in as few lines as a greedy fill allows', () => {
    const items = fc.array(fc.string({ unit: widths, minLength: 1, maxLength: 8 }), { maxLength: 40 });
    fc.assert(
      fc.property(items, fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 10 }), (list, budget, maxItems) => {
        const lines = packLines(list, budget, maxItems);
        expect(lines.flat()).toEqual(list);
        lines.forEach((line, i) => {
          expect(line.length).toBeGreaterThan(0);
          expect(line.length).toBeLessThanOrEqual(maxItems);
          if (line.length > 1) expect(bytes(line.join(' '))).toBeLessThanOrEqual(budget);
          // The next line's first item did not fit here.
          const next = lines[i + 1]?.[0];
          if (next !== undefined)
            expect(line.length === maxItems || bytes([...line, next].join(' ')) > budget).toBe(true);
        });
      }),
    );
  });
});
