import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { truncateUtf8 } from '../../src/protocol/text.js';

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
