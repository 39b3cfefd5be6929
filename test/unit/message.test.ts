import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeTagValue, parseMessage, ParseError, serializeMessage, unescapeTagValue } from '../../src/protocol/message.js';

describe('parseMessage', () => {
  it('parses tags, source, command and params with a trailing parameter', () => {
    const m = parseMessage('@id=123;+draft/x=a\\sb\\:c;flag :nick!u@h PRIVMSG #chan :hello world');
    expect(m).toEqual({
      tags: { id: '123', '+draft/x': 'a b;c', flag: '' },
      source: 'nick!u@h',
      command: 'PRIVMSG',
      params: ['#chan', 'hello world'],
    });
  });

  it('uppercases the command and keeps an empty trailing parameter', () => {
    expect(parseMessage('privmsg bob :')).toEqual({ command: 'PRIVMSG', params: ['bob', ''] });
  });

  it('treats extra spaces between parameters as one separator', () => {
    expect(parseMessage('USER  a   0 *  :real  name ').params).toEqual(['a', '0', '*', 'real  name ']);
  });

  it('keeps colons inside middle parameters', () => {
    expect(parseMessage('MODE #c +b a:b').params).toEqual(['#c', '+b', 'a:b']);
  });

  it('rejects lines without a command', () => {
    expect(() => parseMessage('')).toThrow(ParseError);
    expect(() => parseMessage(':source')).toThrow(ParseError);
    expect(() => parseMessage('@a=b')).toThrow(ParseError);
  });

  it('unescapes the tag escapes the spec lists and drops a trailing backslash', () => {
    expect(unescapeTagValue('\\:\\s\\\\\\r\\n')).toBe('; \\\r\n');
    expect(unescapeTagValue('ab\\')).toBe('ab');
    expect(unescapeTagValue('a\\bc')).toBe('abc');
  });

  it('accepts 15 middle parameters and more (no silent truncation)', () => {
    const params = Array.from({ length: 20 }, (_, i) => `p${i}`);
    expect(parseMessage(`CMD ${params.join(' ')}`).params).toEqual(params);
  });
});

describe('serializeMessage', () => {
  it('adds a colon only when the last parameter needs one', () => {
    expect(serializeMessage({ command: 'PRIVMSG', params: ['#a', 'hi'] })).toBe('PRIVMSG #a hi');
    expect(serializeMessage({ command: 'PRIVMSG', params: ['#a', 'hi there'] })).toBe('PRIVMSG #a :hi there');
    expect(serializeMessage({ command: 'PRIVMSG', params: ['#a', ''] })).toBe('PRIVMSG #a :');
    expect(serializeMessage({ command: 'PRIVMSG', params: ['#a', ':)'] })).toBe('PRIVMSG #a ::)');
  });

  it('escapes tag values', () => {
    expect(serializeMessage({ tags: { a: 'x y;z\\' }, command: 'TAGMSG', params: ['#c'] })).toBe('@a=x\\sy\\:z\\\\ TAGMSG #c');
  });
});

const middle = fc.stringMatching(/^[^\s:\0\r\n][^\s\0\r\n]{0,10}$/);
const trailing = fc.stringMatching(/^[^\0\r\n]{0,30}$/);
const tagKey = fc.stringMatching(/^\+?[a-z][a-z0-9-]{0,8}$/);

describe('round trip (property)', () => {
  it('parse(serialize(m)) == m for any valid message', () => {
    fc.assert(
      fc.property(
        fc.dictionary(tagKey, fc.string({ maxLength: 12 }).filter((s) => !/[\0]/.test(s)), { maxKeys: 4 }),
        fc.option(fc.stringMatching(/^[a-z][a-z0-9!@.]{0,15}$/), { nil: undefined }),
        fc.stringMatching(/^[A-Z]{1,10}$|^[0-9]{3}$/),
        fc.array(middle, { maxLength: 6 }),
        fc.option(trailing, { nil: undefined }),
        (tags, source, command, mids, trail) => {
          const params = trail === undefined ? mids : [...mids, trail];
          const msg = { command, params, ...(Object.keys(tags).length ? { tags } : {}), ...(source ? { source } : {}) };
          const parsed = parseMessage(serializeMessage(msg));
          expect(parsed.command).toBe(command);
          expect(parsed.params).toEqual(params);
          expect(parsed.source).toBe(source);
          expect({ ...(parsed.tags ?? {}) }).toEqual(tags);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('escape/unescape are inverse for any string', () => {
    fc.assert(fc.property(fc.string(), (s) => {
        expect(unescapeTagValue(escapeTagValue(s))).toBe(s);
      }), { numRuns: 2000 });
  });

  it('never throws anything but ParseError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseMessage(s);
        } catch (err) {
          expect(err).toBeInstanceOf(ParseError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
