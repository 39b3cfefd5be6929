import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { escapeTagValue, MAX_TAGS, parseMessage, ParseError, parseTags, serializeMessage, unescapeTagValue } from '../../src/protocol/message.js';

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

  it('unescapes a value made only of escapes, and keeps a surrogate pair after a backslash', () => {
    expect(unescapeTagValue('\\s'.repeat(2045))).toBe(' '.repeat(2045));
    expect(unescapeTagValue('a\\\u{1F600}b')).toBe('a\u{1F600}b');
  });

  it('drops tag keys that break the message-tags grammar and keeps the message', () => {
    const m = parseMessage('@+ok=1;+bad\x01key=2;+=3;+;=4;vend.or-1/key-2=5;a/b/c=6;+x/=7;sp\x1bc;+draft/reply=8;time=9 TAGMSG #c');
    expect({ ...m.tags }).toEqual({ '+ok': '1', 'vend.or-1/key-2': '5', '+draft/reply': '8', time: '9' });
    expect(m.command).toBe('TAGMSG');
  });

  it(`reads at most ${MAX_TAGS} distinct keys, and a repeated key keeps its last value`, () => {
    const many = Array.from({ length: 800 }, (_, i) => `+k${i}=${i}`).join(';');
    const tags = parseTags(`${many};+k0=last;+late=x`);
    expect(Object.keys(tags)).toHaveLength(MAX_TAGS);
    expect(tags['+k0']).toBe('last');
    expect(tags[`+k${MAX_TAGS - 1}`]).toBe(String(MAX_TAGS - 1));
    expect(tags['+late']).toBeUndefined();
  });

  it('takes the first "=" of each tag, and values may hold "="', () => {
    expect({ ...parseTags('a;b=1=2;c=;d') }).toEqual({ a: '', b: '1=2', c: '', d: '' });
  });

  it('gives parameters that do not keep the tag section of their line alive', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const kept: string[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 2000; i++) kept.push(parseMessage(`@+e=${'x'.repeat(4000)}${i} METADATA * SET display-name :value ${i}, twenty or so`).params[3]!);
    gc();
    // A slice of the line held all of its ~4,100 bytes; a copy of its own, a hundred or so.
    expect((process.memoryUsage().heapUsed - before) / kept.length).toBeLessThan(1000);
    expect(kept[7]).toBe('value 7, twenty or so');
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

  it('escapes tag values, CR and LF included', () => {
    expect(serializeMessage({ tags: { a: 'x y;z\\' }, command: 'TAGMSG', params: ['#c'] })).toBe('@a=x\\sy\\:z\\\\ TAGMSG #c');
    expect(escapeTagValue('1\r:irc.example.net NOTICE you :2\n3')).toBe('1\\r:irc.example.net\\sNOTICE\\syou\\s:2\\n3');
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
