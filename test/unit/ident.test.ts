import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { identQuery, parseIdentReply } from '../../src/protocol/ident.js';

describe('identQuery', () => {
  it('asks about the client port, then ours, as RFC 1413 writes it', () => {
    expect(identQuery(6193, 23)).toBe('6193, 23\r\n');
  });
});

describe('parseIdentReply', () => {
  it('reads the user-id of a USERID reply about the same ports', () => {
    expect(parseIdentReply('6193, 23 : USERID : UNIX : stjohns', 6193, 23)).toBe('stjohns');
    expect(parseIdentReply('6193,23:USERID:UNIX,UTF-8:alice\r\n', 6193, 23)).toBe('alice');
    // The user-id is the rest of the line, colons included.
    expect(parseIdentReply('6193 , 23 : userid : OTHER : a:b', 6193, 23)).toBe('a:b');
  });

  it('refuses ERROR replies, other ports and malformed lines', () => {
    expect(parseIdentReply('6193, 23 : ERROR : NO-USER', 6193, 23)).toBeUndefined();
    expect(parseIdentReply('6195, 23 : USERID : UNIX : alice', 6193, 23)).toBeUndefined();
    expect(parseIdentReply('6193, 24 : USERID : UNIX : alice', 6193, 23)).toBeUndefined();
    expect(parseIdentReply('hello there', 6193, 23)).toBeUndefined();
    expect(parseIdentReply('6193, 23 : USERID : UNIX :   ', 6193, 23)).toBeUndefined();
    expect(parseIdentReply('6193, 23 : USERID :  : alice', 6193, 23)).toBeUndefined();
    expect(parseIdentReply('x6193, 23 : USERID : UNIX : alice', 6193, 23)).toBeUndefined();
  });

  it('never throws, and answers only for the ports it was asked about', () => {
    const port = fc.integer({ min: 1, max: 65535 });
    fc.assert(
      fc.property(fc.string(), port, port, (line, a, b) => {
        const got = parseIdentReply(line, a, b);
        if (got !== undefined) {
          expect(got).toBe(got.trim());
          expect(got).not.toBe('');
          expect(/^\s*\d{1,5}\s*,\s*\d{1,5}\s*:/.test(line)).toBe(true);
        }
      }),
    );
    fc.assert(
      fc.property(port, port, fc.stringMatching(/^[a-z][a-z0-9]{0,15}$/), (a, b, user) => {
        expect(parseIdentReply(`${a} , ${b} : USERID : UNIX : ${user}\r\n`, a, b)).toBe(user);
        expect(parseIdentReply(`${a} , ${b} : USERID : UNIX : ${user}\r\n`, a, b === 65535 ? 1 : b + 1)).toBeUndefined();
      }),
    );
  });
});
