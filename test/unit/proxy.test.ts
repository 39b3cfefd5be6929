// The PROXY protocol header parser: any bytes give a result (never a throw), well-formed headers
// parse back to what was written, and prefixes of them ask for more.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipBytes } from '../../src/protocol/mask.js';
import { parseProxyHeader, V2_MAX_PAYLOAD } from '../../src/protocol/proxy.js';
import { sslTlv, v1Header, v2Header, v2Raw, V2_SIGNATURE, type Tlv } from '../support/proxy.js';

const port = fc.integer({ min: 0, max: 65535 });
const ipPair = fc.oneof(fc.tuple(fc.ipV4(), fc.ipV4()), fc.tuple(fc.ipV6(), fc.ipV6()));
const otherTlv: fc.Arbitrary<Tlv> = fc.record({
  type: fc.integer({ min: 0, max: 255 }).filter((t) => t !== 0x20),
  value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
});
const sameIp = (a: string, b: string) => Buffer.from(ipBytes(a)!).equals(Buffer.from(ipBytes(b)!));

describe('parseProxyHeader', () => {
  it('never throws, and a header never claims more bytes than it was given', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      // Starts that get past the signature checks, so the rest is parsed.
      fc.uint8Array({ maxLength: 300 }).map((a) => new Uint8Array([...V2_SIGNATURE, ...a])),
      fc.string({ maxLength: 120 }).map((s) => new TextEncoder().encode(`PROXY ${s}`)),
    );
    fc.assert(
      fc.property(bytes, (a) => {
        const r = parseProxyHeader(Buffer.from(a));
        if ('header' in r) expect(r.length).toBeLessThanOrEqual(a.length);
        else expect('incomplete' in r || typeof r.error === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back a v1 header, and what follows it is left alone', () => {
    fc.assert(
      fc.property(ipPair, port, port, fc.string({ maxLength: 20 }), ([src, dst], sp, dp, after) => {
        const text = v1Header(src, dst, sp, dp);
        const r = parseProxyHeader(Buffer.from(text + after, 'latin1'));
        if (!('header' in r) || r.header.local) throw new Error(`not parsed: ${JSON.stringify(r)}`);
        expect(r.length).toBe(Buffer.byteLength(text, 'latin1'));
        expect(sameIp(r.header.source, src) && sameIp(r.header.dest, dst)).toBe(true);
        expect([r.header.sourcePort, r.header.destPort, r.header.version, r.header.ssl]).toEqual([sp, dp, 1, false]);
      }),
    );
  });

  it('reads back a v2 header with its TLVs, the SSL one deciding `ssl`', () => {
    fc.assert(
      fc.property(ipPair, port, port, fc.array(otherTlv, { maxLength: 5 }), fc.option(fc.boolean()), fc.uint8Array({ maxLength: 20 }), ([src, dst], sp, dp, tlvs, ssl, after) => {
        const all = ssl === null ? tlvs : [...tlvs, sslTlv(ssl)];
        const head = v2Header(src, dst, sp, dp, all);
        const r = parseProxyHeader(Buffer.concat([head, after]));
        if (!('header' in r) || r.header.local) throw new Error(`not parsed: ${JSON.stringify(r)}`);
        expect(r.length).toBe(head.length);
        expect(sameIp(r.header.source, src) && sameIp(r.header.dest, dst)).toBe(true);
        expect([r.header.sourcePort, r.header.destPort, r.header.version, r.header.ssl]).toEqual([sp, dp, 2, ssl === true]);
      }),
    );
  });

  it('asks for more while it has only a prefix of a header', () => {
    fc.assert(
      fc.property(ipPair, port, port, fc.boolean(), fc.nat(), ([src, dst], sp, dp, v2, cut) => {
        const full = v2 ? v2Header(src, dst, sp, dp, [sslTlv(true)]) : Buffer.from(v1Header(src, dst, sp, dp), 'latin1');
        expect(parseProxyHeader(full.subarray(0, cut % full.length))).toEqual({ incomplete: true });
      }),
    );
  });

  it('takes LOCAL, UNKNOWN, UNSPEC and UNIX as "the connection is its own"', () => {
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).toEqual({ header: { version: 1, local: true }, length: 15 });
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN 1.2.3.4 x y z\r\nNICK'))).toMatchObject({ header: { local: true }, length: 29 });
    expect(parseProxyHeader(v2Raw(0x20, 0x00, Buffer.alloc(0)))).toEqual({ header: { version: 2, local: true }, length: 16 });
    expect(parseProxyHeader(v2Raw(0x20, 0x11, Buffer.alloc(12)))).toEqual({ header: { version: 2, local: true }, length: 28 });
    expect(parseProxyHeader(v2Raw(0x21, 0x00, Buffer.alloc(0)))).toMatchObject({ header: { local: true } });
    expect(parseProxyHeader(v2Raw(0x21, 0x31, Buffer.alloc(216)))).toMatchObject({ header: { local: true }, length: 232 });
  });

  it('shows an IPv4-mapped v2 address as plain IPv4', () => {
    const r = parseProxyHeader(v2Header('::ffff:192.0.2.9', '::1', 1, 2));
    expect(r).toMatchObject({ header: { source: '192.0.2.9', dest: '::1' } });
  });

  it('refuses what is not a header, or a broken or oversized one', () => {
    const refused = (b: Buffer | string) => {
      const r = parseProxyHeader(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
      expect('error' in r ? r.error : r).toMatch(/./);
      expect('error' in r).toBe(true);
    };
    refused('NICK foo\r\n');
    refused('GET / HTTP/1.1\r\n');
    refused('\x16\x03\x01\x02\x00'); // a TLS ClientHello
    refused('PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n');
    refused('PROXY TCP4 1.2.3.4 5.6.7.8 080 80\r\n');
    refused('PROXY TCP4 1.2.3.4 5.6.7.8 65536 80\r\n');
    refused('PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n');
    refused('PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n');
    refused(`PROXY ${'x'.repeat(120)}`);
    refused(v2Raw(0x11, 0x11, Buffer.alloc(12))); // version 1 in a v2 header
    refused(v2Raw(0x22, 0x11, Buffer.alloc(12))); // command 2
    refused(v2Raw(0x21, 0x12, Buffer.alloc(12))); // DGRAM
    refused(v2Raw(0x21, 0x41, Buffer.alloc(12))); // family 4
    refused(v2Raw(0x21, 0x21, Buffer.alloc(20))); // INET6 needs 36 bytes
    refused(v2Raw(0x21, 0x11, Buffer.concat([Buffer.alloc(12), Buffer.from([0x20, 0, 9, 1])]))); // TLV overruns
    refused(v2Raw(0x21, 0x11, Buffer.concat([Buffer.alloc(12), Buffer.from([0x20, 0, 1, 1])]))); // SSL TLV too short
    const big = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, (V2_MAX_PAYLOAD + 1) >> 8, (V2_MAX_PAYLOAD + 1) & 0xff])]);
    refused(big);
  });
});
