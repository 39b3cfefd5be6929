// The shape check of server lines (src/modules/link/wellformed.ts): word parameters stay words.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { malformed } from '../../src/modules/link/wellformed.js';
import { parseMessage, serializeMessage } from '../../src/protocol/message.js';

describe('server line shapes', () => {
  it('accepts the lines TS6 servers send', () => {
    for (const line of [
      ':1AA EUID alice 1 1700000000 +i alice host 127.0.0.1 1AAAAAAAA host * :Alice Liddell',
      ':1AA SJOIN 1700000000 #chan +nt :@1AAAAAAAA +1AAAAAAAB',
      ':1AA BMASK 1700000000 #chan b :*!*@a *!*@b',
      ':1AAAAAAAA PRIVMSG #chan :hello there',
      ':1AA TB #chan 1700000000 alice :the topic',
      ':1AA ENCAP * SU 1AAAAAAAA acct',
      ':1AA ENCAP * SU 1AAAAAAAA',
      ':1AA TMODE 1700000000 #chan +bk *!*@x key',
      ':1AAAAAAAA QUIT :',
    ])
      expect(malformed(parseMessage(line)), line).toBeUndefined();
  });

  it('refuses a word parameter with a space, empty or starting with ":"', () => {
    for (const line of [
      ':1AA CHGHOST 1AAAAAAAA :bad host',
      ':1AA CHGHOST 1AAAAAAAA :',
      ':1AA ENCAP * SU 1AAAAAAAA :an account',
      ':1AA TMODE 1700000000 #chan +b :a b',
      ':1AA SJOIN 1700000000 #chan + :1AAAAAAAA :1AAAAAAAB',
      ':1AA BMASK 1700000000 #chan b :\ta',
      ':1AAAAAAAA NICK ::x 1',
    ])
      expect(malformed(parseMessage(line)), line).toBeDefined();
  });

  it('a line that passes serializes back to the same parameters (nothing breaks when it is sent on)', () => {
    const param = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('', ' ', ':', ':x', 'a b'));
    fc.assert(
      fc.property(fc.constantFrom('CHGHOST', 'TMODE', 'NICK', 'MODE', 'JOIN'), fc.array(param, { minLength: 1, maxLength: 5 }), (command, params) => {
        const clean = params.map((p) => p.replace(/[\r\n\0]/g, ''));
        const msg = { source: '1AA', command, params: clean };
        if (malformed(msg)) return;
        // Every word may stand anywhere in a line: moved to the middle, it still parses back.
        const moved = { source: '1AA', command: 'X', params: [...clean, 'end'] };
        expect(parseMessage(serializeMessage(moved)).params).toEqual(moved.params);
      }),
    );
  });
});
