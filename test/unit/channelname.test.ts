import { describe, expect, it } from 'vitest';
import { isChannelTarget, validChannelName } from '../../src/protocol/channelname.js';

describe('isChannelTarget', () => {
  it('looks at the first character only, against the configured types', () => {
    expect(isChannelTarget('#c', '#')).toBe(true);
    expect(isChannelTarget('#bad\u202Ename', '#')).toBe(true); // still a channel, just not one that can exist
    expect(isChannelTarget('&c', '#')).toBe(false);
    expect(isChannelTarget('&c', '#&')).toBe(true);
    expect(isChannelTarget('nick', '#&')).toBe(false);
    expect(isChannelTarget('', '#&')).toBe(false);
  });
});

describe('validChannelName', () => {
  const valid = (name: string) => validChannelName(name, '#&', 20);

  it.each(['#c', '&local', '#rust-lang', '#café', '#日本語', '#ünïcödé', '#a.b/c!d'])('accepts %j', (name) => {
    expect(valid(name)).toBe(true);
  });

  it.each([
    ['too short', '#'],
    ['too long', `#${'x'.repeat(20)}`],
    ['not a channel type', '!c'],
    ['a space', '#a b'],
    ['a comma', '#a,b'],
    ['a colon', '#a:b'],
    ['BELL', '#a\x07b'],
    ['DEL', '#a\x7fb'],
    ['a C1 control', '#a\u0085b'],
    ['a zero-width space', '#a\u200Bb'],
    ['a zero-width joiner', '#a\u200Db'],
    ['a word joiner', '#a\u2060b'],
    ['a byte order mark', '#a\uFEFFb'],
    ['a soft hyphen', '#a\u00ADb'],
    ['a right-to-left override', '#\u202Eab'],
    ['a left-to-right mark', '#ab\u200E'],
    ['a first-strong isolate', '#a\u2068b'],
    ['an Arabic letter mark', '#a\u061Cb'],
    ['a Hangul filler', '#\u3164'],
    ['a variation selector', '#a\uFE0Fb'],
    ['a no-break space', '#a\u00A0b'],
    ['an ideographic space', '#a\u3000b'],
    ['a line separator', '#a\u2028b'],
    ['a tag character', '#a\u{E0041}b'],
  ])('refuses %s', (_why, name) => {
    expect(valid(name)).toBe(false);
  });
});
