// Server bans on the wire (modules/link/bans.ts): what one server encodes as ENCAP KLINE, DLINE,
// XLINE and their UN- forms, another reads back as the same ban, whatever the mask holds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBanCommand, encodeBanCommand, type BanCommand } from '../../src/modules/link/bans.js';
import { parseMessage, serializeMessage } from '../../src/protocol/message.js';

const word = fc.stringMatching(/^[a-z0-9*?.\-_~]{1,20}$/);
const ipv6 = fc.ipV6();
const host = fc.oneof(word, fc.ipV4(), ipv6, fc.tuple(ipv6, fc.integer({ min: 32, max: 128 })).map(([ip, n]) => `${ip}/${n}`));
const realname = fc.stringMatching(/^[a-z0-9*? ]{1,30}$/).filter((r) => r.trim() === r && !r.includes('  '));
const reason = fc.stringMatching(/^[ -~]{1,60}$/);

const command: fc.Arbitrary<BanCommand> = fc.oneof(
  fc.record({ kind: fc.constant('K' as const), mask: fc.tuple(word, host).map(([u, h]) => `${u}@${h}`) }),
  fc.record({ kind: fc.constant('D' as const), mask: fc.oneof(fc.ipV4(), ipv6) }),
  fc.record({ kind: fc.constant('X' as const), mask: realname }),
).chain(({ kind, mask }) =>
  fc.record({ kind: fc.constant(kind), mask: fc.constant(mask), adding: fc.boolean(), minutes: fc.nat(525600), reason }).map((c) =>
    c.adding ? c : { ...c, minutes: 0, reason: '' },
  ),
);

describe('ban commands over a link', () => {
  it('read back as sent, through a serialized and parsed ENCAP line', () => {
    fc.assert(
      fc.property(command, (c) => {
        const line = serializeMessage({ source: '1AA', command: 'ENCAP', params: ['*', ...encodeBanCommand(c)] });
        const [, sub, ...args] = parseMessage(line).params;
        // "0::..." is how TS6 writes an address starting with ":": it reads as "::...", the same address.
        expect(decodeBanCommand(sub!, args)).toEqual({ ...c, mask: c.kind === 'X' ? c.mask : c.mask.replace(/(^|@)0::/, '$1::') });
      }),
      { numRuns: 2000 },
    );
  });

  it('carry an address that starts with ":" behind a 0, and realnames as one word', () => {
    expect(encodeBanCommand({ kind: 'K', adding: true, mask: '*@::1', minutes: 60, reason: 'r' })).toEqual(['KLINE', '60', '*', '0::1', 'r']);
    expect(encodeBanCommand({ kind: 'X', adding: true, mask: 'evil bot', minutes: 0, reason: 'r' })).toEqual(['XLINE', '0', 'evil\\sbot', '2', 'r']);
    expect(encodeBanCommand({ kind: 'D', adding: false, mask: '192.0.2.0/24', minutes: 0, reason: '' })).toEqual(['UNDLINE', '192.0.2.0/24']);
  });

  it('refuse a command missing a parameter, and read a bad duration as permanent', () => {
    expect(decodeBanCommand('KLINE', ['60', '*', 'host'])).toBeUndefined();
    expect(decodeBanCommand('UNKLINE', ['*'])).toBeUndefined();
    expect(decodeBanCommand('RESV', ['0', '#x', 'r'])).toBeUndefined();
    expect(decodeBanCommand('DLINE', ['soon', '192.0.2.1', 'r'])).toEqual({ kind: 'D', adding: true, mask: '192.0.2.1', minutes: 0, reason: 'r' });
  });
});
