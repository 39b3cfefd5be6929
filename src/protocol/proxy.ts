// The PROXY protocol header (HAProxy, versions 1 and 2), which a load balancer or TLS terminator
// sends first on each connection to say whose it is:
// https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt (sections 2.1 and 2.2).
// Pure parsing over the bytes read so far: a header is complete, needs more bytes, or is refused.
import { isIP } from 'node:net';

/** What a header says: the client's address, or "use the connection's own" (LOCAL, UNKNOWN, UNSPEC). */
export type ProxyHeader =
  | {
      version: 1 | 2;
      local: false;
      /** The client's address and port as the proxy saw them. */
      source: string;
      sourcePort: number;
      dest: string;
      destPort: number;
      /** v2 only: a PP2_TYPE_SSL TLV with the PP2_CLIENT_SSL bit (the client reached the proxy over TLS). */
      ssl: boolean;
    }
  | { version: 1 | 2; local: true };

export type ProxyParse =
  | { header: ProxyHeader; length: number }
  | { incomplete: true }
  | { error: string };

/** Longest v1 header, CRLF included (section 2.1). */
export const V1_MAX_LENGTH = 107;
/** The v2 header's fixed part: signature, version and command, family, length. */
const V2_FIXED = 16;
/**
 * Longest v2 address block and TLVs accepted (the header says up to 65535): the addresses take
 * at most 216 bytes, and a proxy's TLVs (ALPN, authority, unique id, the SSL sub-TLVs) fit well
 * within this. A longer header is refused, not buffered.
 */
export const V2_MAX_PAYLOAD = 1024;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

const PP2_TYPE_SSL = 0x20;
const PP2_CLIENT_SSL = 0x01;

/** Whether `buf` could still become `sig` (it is a prefix of it, or starts with all of it). */
function startsLike(buf: Buffer, sig: Buffer): 'yes' | 'maybe' | 'no' {
  const n = Math.min(buf.length, sig.length);
  if (buf.compare(sig, 0, n, 0, n) !== 0) return 'no';
  return buf.length >= sig.length ? 'yes' : 'maybe';
}

/** Parses the PROXY header at the start of `buf`; `length` is how many bytes it took. */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  const v2 = startsLike(buf, V2_SIGNATURE);
  if (v2 === 'yes') return parseV2(buf);
  const v1 = startsLike(buf, V1_PREFIX);
  if (v1 === 'yes') return parseV1(buf);
  if (v1 === 'maybe' || v2 === 'maybe') return { incomplete: true };
  return { error: 'no PROXY protocol header' };
}

function parseV1(buf: Buffer): ProxyParse {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end === -1) return buf.length >= V1_MAX_LENGTH ? { error: 'PROXY v1 header too long' } : { incomplete: true };
  if (end + 2 > V1_MAX_LENGTH) return { error: 'PROXY v1 header too long' };
  const length = end + 2;
  const fields = buf.toString('latin1', V1_PREFIX.length, end).split(' ');
  // "UNKNOWN" may be followed by anything, which the receiver ignores.
  if (fields[0] === 'UNKNOWN') return { header: { version: 1, local: true }, length };
  if (fields.length !== 5) return { error: 'PROXY v1 header malformed' };
  const [proto, source, dest, sport, dport] = fields as [string, string, string, string, string];
  const family = proto === 'TCP4' ? 4 : proto === 'TCP6' ? 6 : 0;
  if (family === 0) return { error: `PROXY v1 protocol ${JSON.stringify(proto.slice(0, 16))} unknown` };
  if (isIP(source) !== family || isIP(dest) !== family) return { error: 'PROXY v1 address invalid' };
  const sourcePort = v1Port(sport);
  const destPort = v1Port(dport);
  if (sourcePort === undefined || destPort === undefined) return { error: 'PROXY v1 port invalid' };
  return { header: { version: 1, local: false, source, sourcePort, dest, destPort, ssl: false }, length };
}

/** A decimal port, 0-65535, without a leading zero (section 2.1). */
function v1Port(text: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseV2(buf: Buffer): ProxyParse {
  if (buf.length < V2_FIXED) return { incomplete: true };
  const verCmd = buf[12]!;
  const famProto = buf[13]!;
  const payload = buf.readUInt16BE(14);
  if (verCmd >> 4 !== 2) return { error: 'PROXY v2 version invalid' };
  const command = verCmd & 0x0f;
  if (command > 1) return { error: 'PROXY v2 command invalid' };
  if (payload > V2_MAX_PAYLOAD) return { error: 'PROXY v2 header too long' };
  const length = V2_FIXED + payload;
  if (buf.length < length) return { incomplete: true };
  const family = famProto >> 4;
  const transport = famProto & 0x0f;
  if (family > 3 || transport > 2) return { error: 'PROXY v2 address family invalid' };
  // LOCAL (health checks, the proxy's own connections): the addresses, if any, are ignored.
  if (command === 0) return { header: { version: 2, local: true }, length };
  // UNSPEC and UNIX sockets carry no address of the client's on the network: the connection's own is used.
  if (family === 0 || family === 3) return { header: { version: 2, local: true }, length };
  if (transport !== 1) return { error: 'PROXY v2 transport is not a stream' };
  const addrLen = family === 1 ? 4 : 16;
  const block = addrLen * 2 + 4;
  if (payload < block) return { error: 'PROXY v2 address block too short' };
  const at = V2_FIXED;
  const source = formatIp(buf.subarray(at, at + addrLen));
  const dest = formatIp(buf.subarray(at + addrLen, at + 2 * addrLen));
  const sourcePort = buf.readUInt16BE(at + 2 * addrLen);
  const destPort = buf.readUInt16BE(at + 2 * addrLen + 2);
  const ssl = sslFromTlvs(buf.subarray(at + block, length));
  if (ssl === undefined) return { error: 'PROXY v2 TLV malformed' };
  return { header: { version: 2, local: false, source, sourcePort, dest, destPort, ssl }, length };
}

/** Walks the TLVs: whether PP2_TYPE_SSL says the client used SSL, or undefined when one overruns. */
function sslFromTlvs(tlvs: Buffer): boolean | undefined {
  let ssl = false;
  let i = 0;
  while (i < tlvs.length) {
    if (i + 3 > tlvs.length) return undefined;
    const type = tlvs[i]!;
    const len = tlvs.readUInt16BE(i + 1);
    const value = i + 3;
    if (value + len > tlvs.length) return undefined;
    // The SSL TLV: a client byte, a 4-byte verify field, then sub-TLVs (version, cipher, ...).
    if (type === PP2_TYPE_SSL) {
      if (len < 5) return undefined;
      ssl = (tlvs[value]! & PP2_CLIENT_SSL) !== 0;
    }
    i = value + len;
  }
  return ssl;
}

/** An address of 4 or 16 bytes in its usual text form (IPv6 compressed; IPv4-mapped as plain IPv4). */
function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.subarray(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best === -1) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
