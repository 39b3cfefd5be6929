// PROXY protocol headers as a load balancer writes them (HAProxy's proxy-protocol.txt), for tests.
import { isIP } from 'node:net';
import { ipBytes } from '../../src/protocol/mask.js';

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export function v1Header(source: string, dest: string, sourcePort: number, destPort: number): string {
  return `PROXY ${isIP(source) === 6 ? 'TCP6' : 'TCP4'} ${source} ${dest} ${sourcePort} ${destPort}\r\n`;
}

export interface Tlv {
  type: number;
  value: Buffer;
}

/** A TLV of type PP2_TYPE_SSL: the client byte (bit 0: PP2_CLIENT_SSL), verify 0, no sub-TLVs. */
export function sslTlv(clientSsl: boolean): Tlv {
  return { type: 0x20, value: Buffer.from([clientSsl ? 1 : 0, 0, 0, 0, 0]) };
}

function tlvBytes(tlvs: Tlv[]): Buffer {
  return Buffer.concat(tlvs.map((t) => Buffer.concat([Buffer.from([t.type, t.value.length >> 8, t.value.length & 0xff]), t.value])));
}

/** A v2 PROXY (command 1) header over TCP for these addresses (both of one family). */
export function v2Header(source: string, dest: string, sourcePort: number, destPort: number, tlvs: Tlv[] = []): Buffer {
  const v4 = isIP(source) === 4;
  const addr = (ip: string) => Buffer.from(v4 ? ipBytes(ip)!.subarray(12) : ipBytes(ip)!);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sourcePort, 0);
  ports.writeUInt16BE(destPort, 2);
  const body = Buffer.concat([addr(source), addr(dest), ports, tlvBytes(tlvs)]);
  return v2Raw(0x21, v4 ? 0x11 : 0x21, body);
}

/** A v2 header with the given version/command and family/transport bytes around `body`. */
export function v2Raw(verCmd: number, famProto: number, body: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([V2_SIGNATURE, Buffer.from([verCmd, famProto]), len, body]);
}
