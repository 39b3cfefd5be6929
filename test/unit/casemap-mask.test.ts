import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciiFold, rfc1459Fold } from '../../src/protocol/casemap.js';
import { addressKey, cidrContains, cidrWidths, globMatch, ipBytes, normalizeMask, parseCidr } from '../../src/protocol/mask.js';

describe('casemapping', () => {
  it('rfc1459 folds []\\~ to {}|^ and A-Z only', () => {
    expect(rfc1459Fold('Nick[A]\\~')).toBe('nick{a}|^');
    expect(rfc1459Fold('ÉTÉ')).toBe('ÉtÉ');
  });
  it('ascii folds only A-Z', () => {
    expect(asciiFold('Nick[A]')).toBe('nick[a]');
    expect(asciiFold('ÀB')).toBe('Àb');
  });
  it('folding is idempotent', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(rfc1459Fold(rfc1459Fold(s))).toBe(rfc1459Fold(s));
        expect(asciiFold(asciiFold(s))).toBe(asciiFold(s));
      }),
    );
  });
});

describe('globMatch', () => {
  it('matches * and ?', () => {
    expect(globMatch('*!*@*.example.net', 'nick!user@host.example.net')).toBe(true);
    expect(globMatch('n?ck!*@*', 'nick!u@h')).toBe(true);
    expect(globMatch('n?ck!*@*', 'nck!u@h')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('a*b*c', 'aXXbYYc')).toBe(true);
    expect(globMatch('a*b*c', 'aXXbYY')).toBe(false);
  });
  it('agrees with a regex translation', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[ab*?]{0,8}$/), fc.stringMatching(/^[ab]{0,10}$/), (p, s) => {
        const re = new RegExp('^' + p.replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
        expect(globMatch(p, s)).toBe(re.test(s));
      }),
      { numRuns: 3000 },
    );
  });
  it('is fast on pathological patterns', () => {
    const t = Date.now();
    expect(globMatch('*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
    expect(Date.now() - t).toBeLessThan(2000);
  });
});

describe('normalizeMask', () => {
  it('completes partial masks', () => {
    expect(normalizeMask('nick')).toBe('nick!*@*');
    expect(normalizeMask('user@host')).toBe('*!user@host');
    expect(normalizeMask('nick!user')).toBe('nick!user@*');
    expect(normalizeMask('host.example')).toBe('*!*@host.example');
    expect(normalizeMask('n!u@h')).toBe('n!u@h');
    expect(normalizeMask('!@')).toBe('*!*@*');
    expect(normalizeMask('@!')).toBe('*!*@*');
    expect(normalizeMask('a@b!c')).toBe('ab!c@*');
    expect(normalizeMask('n!u@h@x')).toBe('n!uh@x');
  });
  it('always yields exactly one "!" before one "@"', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (s) => {
        if (!s.startsWith('$')) expect(normalizeMask(s)).toMatch(/^[^!@]*![^!@]*@[^!@]*$/);
      }),
    );
  });
});

describe('CIDR', () => {
  it('matches IPv4 and IPv6 ranges', () => {
    expect(cidrContains(parseCidr('192.0.2.0/24')!, ipBytes('192.0.2.77')!)).toBe(true);
    expect(cidrContains(parseCidr('192.0.2.0/24')!, ipBytes('192.0.3.1')!)).toBe(false);
    expect(cidrContains(parseCidr('2001:db8::/32')!, ipBytes('2001:db8:1::5')!)).toBe(true);
    expect(cidrContains(parseCidr('2001:db8::/32')!, ipBytes('2001:db9::5')!)).toBe(false);
    expect(cidrContains(parseCidr('10.0.0.1')!, ipBytes('::ffff:10.0.0.1')!)).toBe(true);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, ipBytes('8.8.8.8')!)).toBe(true);
  });
  it('rejects what is not a CIDR', () => {
    expect(parseCidr('*.example.net')).toBeUndefined();
    expect(parseCidr('1.2.3.4/33')).toBeUndefined();
    expect(parseCidr('1.2.3.4/x')).toBeUndefined();
  });
  it('tells how wide a range is per family, counting IPv6 ranges that hold IPv4-mapped addresses as IPv4 too', () => {
    const widths = (text: string) => cidrWidths(parseCidr(text)!);
    expect(widths('192.0.2.0/24')).toEqual({ v4: 24 });
    expect(widths('::ffff:10.0.0.0/8')).toEqual({ v4: 8 });
    expect(widths('2001:db8::/48')).toEqual({ v6: 48 });
    expect(widths('64:ff9b::/96')).toEqual({ v6: 96 });
    expect(widths('::ffff:c000:200/120')).toEqual({ v4: 24 });
    expect(widths('::ffff:0:0/96')).toEqual({ v4: 0 });
    expect(widths('::/80')).toEqual({ v4: 0, v6: 80 });
    expect(widths('::/0')).toEqual({ v4: 0, v6: 0 });
  });
});

describe('addressKey', () => {
  it('keeps IPv4 addresses and reduces IPv6 ones to their /64, however they are written', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
  });
});
