// The utf8 casemapping (RFC 8265 UsernameCaseMapped), the nick rules under each casemapping, the
// utf8 channel-name preparation and TR39 skeletons of look-alike nicks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciiFold, rfc1459Fold, utf8Fold } from '../../src/protocol/casemap.js';
import { prepareUtf8ChannelName } from '../../src/protocol/channelname.js';
import { skeleton } from '../../src/protocol/confusables.js';
import { checkNick } from '../../src/protocol/nickname.js';

/** Any Unicode text, astral planes and lone combining marks included. */
const anyText = fc.string({ unit: 'binary', maxLength: 12 });
/** Letters whose upper and lower case map to each other: Latin with and without accents, Greek, Cyrillic. */
const cased = fc.string({ unit: fc.constantFrom(...'aAéÉèÈçÇñÑΣσΑαЖжÅå'), maxLength: 10 });
/** Those and letters with special cases (ß, dotless ı, final ς, titlecase ǅ), ligatures, fullwidth forms. */
const letters = fc.string({ unit: fc.constantFrom(...'aAéÉèÈçÇñÑßẞıİΣσςΑαЖжÅåǅǆﬀＡｚ'), maxLength: 10 });

describe('utf8 casemapping', () => {
  it('folds to a fixed point: folding twice is folding once', () => {
    const stable = (s: string) => {
      expect(utf8Fold(utf8Fold(s))).toBe(utf8Fold(s));
    };
    fc.assert(fc.property(anyText, stable), { numRuns: 5000 });
    fc.assert(fc.property(letters, stable), { numRuns: 2000 });
  });

  it('makes canonically equivalent forms (NFC, NFD) and case variants collide', () => {
    fc.assert(
      fc.property(letters, (s) => {
        expect(utf8Fold(s.normalize('NFD'))).toBe(utf8Fold(s.normalize('NFC')));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(cased, (s) => {
        expect(utf8Fold(s.toUpperCase())).toBe(utf8Fold(s.toLowerCase()));
      }),
      { numRuns: 2000 },
    );
    expect(utf8Fold('JOSÉ')).toBe(utf8Fold('José'));
    expect(utf8Fold('Jose\u0301')).toBe('josé');
    expect(utf8Fold('ＡＢＣ')).toBe('abc'); // fullwidth forms are width-mapped
  });

  it('folds ASCII text exactly as the ascii casemapping, and leaves rfc1459 and ascii as they were', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)) }), (s) => {
        expect(utf8Fold(s)).toBe(asciiFold(s));
      }),
    );
    expect(rfc1459Fold('Nick[A]\\~')).toBe('nick{a}|^');
    expect(asciiFold('Nick[A]')).toBe('nick[a]');
  });
});

describe('checkNick', () => {
  const OLD_GRAMMAR = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]*$/;

  it('keeps the RFC 2812 grammar under rfc1459 and ascii', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'aZ09[]\\`_^{|}-é *!@#.,:'), maxLength: 12 }), (s) => {
        for (const mapping of ['rfc1459', 'ascii'] as const) expect(checkNick(s, mapping, 30).ok).toBe(s.length <= 30 && OLD_GRAMMAR.test(s));
      }),
    );
    expect(checkNick('José', 'rfc1459', 30).ok).toBe(false);
  });

  it('accepts under utf8 every nick the ASCII grammar accepts, unchanged', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,20}$/), (s) => {
        expect(checkNick(s, 'utf8', 30)).toEqual({ ok: true, nick: s });
      }),
    );
  });

  it('accepts letters of any script under utf8 and keeps them NFC, width-mapped', () => {
    expect(checkNick('José', 'utf8', 30)).toEqual({ ok: true, nick: 'José' });
    expect(checkNick('Jose\u0301', 'utf8', 30)).toEqual({ ok: true, nick: 'José' });
    expect(checkNick('ｊｏｓｅ', 'utf8', 30)).toEqual({ ok: true, nick: 'jose' });
    for (const nick of ['Дмитрий', '山田太郎', 'さくら', 'Ελένη', 'שלום', 'محمد', 'नमस्ते', 'Zoë_2']) expect(checkNick(nick, 'utf8', 30).ok).toBe(true);
  });

  it('refuses under utf8 what IRC or PRECIS do not allow, saying why', () => {
    const reason = (nick: string, max = 30) => {
      const r = checkNick(nick, 'utf8', max);
      return r.ok ? undefined : r.reason;
    };
    expect(reason('a b')).toBe('U+0020 is not allowed');
    expect(reason('a*b')).toBe('"*" is not allowed');
    expect(reason('ab\u202ecd')).toBe('U+202E is not a letter, digit or combining mark'); // bidi override
    expect(reason('ab\u200bcd')).toBe('U+200B is not a letter, digit or combining mark'); // zero-width space
    expect(reason('a\u00a0b')).toBe('U+00A0 is not a letter, digit or combining mark'); // no-break space
    expect(reason('ab\u0378')).toBe('U+0378 is not an assigned character');
    expect(reason('a♥')).toBe('U+2665 is not a letter, digit or combining mark');
    expect(reason('ﬀoo')).toBe('U+FB00 is a compatibility character; write ff instead');
    expect(reason('１abc')).toMatch(/must not start with a digit/); // width-mapped to "1abc"
    expect(reason('\u0301abc')).toMatch(/must not start with a digit, "-" or a combining mark/);
    expect(reason('٣abc')).toMatch(/must not start with a digit/);
    expect(reason('abשלום')).toMatch(/right-to-left/);
    expect(reason('_שלום')).toMatch(/right-to-left/);
    expect(reason('ééééé', 9)).toBe('longer than 9 bytes');
    expect(reason('')).toBe('empty');
  });
});

describe('utf8 channel names', () => {
  it('are kept NFC and refused with a reason for unassigned or invisible characters', () => {
    expect(prepareUtf8ChannelName('#cafe\u0301')).toEqual({ ok: true, name: '#café' });
    expect(prepareUtf8ChannelName('#a\u0378')).toEqual({ ok: false, reason: 'U+0378 is not an assigned character' });
    expect(prepareUtf8ChannelName('#a\u202eb')).toEqual({ ok: false, reason: 'U+202E shows as nothing or reorders the text' });
  });
});

describe('skeleton', () => {
  it('makes look-alikes from other scripts equal and keeps different names apart', () => {
    expect(skeleton('\u0430lice')).toBe(skeleton('alice')); // Cyrillic а
    expect(skeleton('\u0435van')).toBe(skeleton('evan')); // Cyrillic е
    expect(skeleton('ΑLICE')).toBe(skeleton('ALICE')); // Greek Alpha
    expect(skeleton('ａｌｉｃｅ')).toBe(skeleton('alice'));
    expect(skeleton('alice')).not.toBe(skeleton('alise'));
    expect(skeleton('José')).not.toBe(skeleton('Jose'));
  });

  it('is the same for every case and canonical form of a nick', () => {
    fc.assert(
      fc.property(letters, (s) => {
        expect(skeleton(s.normalize('NFD'))).toBe(skeleton(s.normalize('NFC')));
        expect(skeleton(skeleton(s))).toBe(skeleton(skeleton(skeleton(s))));
      }),
      { numRuns: 2000 },
    );
  });
});
