// Glob masks (* and ?) and IP/CIDR matching, used by bans, allow blocks and WHO.
import { isIP } from 'node:net';

/** Matches a glob against a subject; both should already be casefolded. Linear backtracking, no regex (no ReDoS). */
export function globMatch(pattern: string, subject: string): boolean {
  let p = 0;
  let s = 0;
  let star = -1;
  let mark = 0;
  while (s < subject.length) {
    const pc = pattern.charCodeAt(p);
    if (p < pattern.length && (pc === 63 /* ? */ || pc === subject.charCodeAt(s))) {
      p++;
      s++;
    } else if (p < pattern.length && pc === 42 /* * */) {
      star = p++;
      mark = s;
    } else if (star !== -1) {
      p = star + 1;
      s = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
}

/** Completes a partial ban mask to nick!user@host, the way users write them. */
export function normalizeMask(mask: string): string {
  // Extended bans: $a:account is no nick!user@host mask; a mute ($m:<mask>) completes its mask.
  if (mask.startsWith('$m:')) return '$m:' + normalizeMask(mask.slice(3) || '*');
  if (mask.startsWith('$')) return mask;
  const bang = mask.indexOf('!');
  const at = mask.lastIndexOf('@');
  if (bang === -1 && at === -1) {
    return mask.includes('.') || mask.includes(':') ? `*!*@${mask}` : `${mask}!*@*`;
  }
  // No part of nick!user@host may hold "!" or "@": stray ones (e.g. "@!x") are dropped.
  const part = (s: string) => s.replace(/[!@]/g, '') || '*';
  if (bang === -1) return `*!${part(mask.slice(0, at))}@${part(mask.slice(at + 1))}`;
  if (at < bang) return `${part(mask.slice(0, bang))}!${part(mask.slice(bang + 1))}@*`;
  return `${part(mask.slice(0, bang))}!${part(mask.slice(bang + 1, at))}@${part(mask.slice(at + 1))}`;
}

/** 16 bytes for any address (IPv4 as IPv4-mapped IPv6), or undefined when it is not an IP. */
export function ipBytes(ip: string): Uint8Array | undefined {
  if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) ip = ip.slice(7);
  const kind = isIP(ip);
  const out = new Uint8Array(16);
  if (kind === 4) {
    out[10] = 0xff;
    out[11] = 0xff;
    ip.split('.').forEach((part, i) => (out[12 + i] = Number(part)));
    return out;
  }
  if (kind !== 6) return undefined;
  let [head, tail] = ip.split('::') as [string, string | undefined];
  const parse = (s: string | undefined): number[] => {
    if (!s) return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const v4 = ipBytes(g)!;
        groups.push((v4[12]! << 8) | v4[13]!, (v4[14]! << 8) | v4[15]!);
      } else groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  const groups = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** An IPv4 address as Node reports it on a dual-stack socket (::ffff:a.b.c.d) in its plain form. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * What per-address limits (connections, connection rate, failed logins, registrations) count by:
 * an IPv4 address, or the /64 of an IPv6 address, since one end site usually holds a whole /64 and
 * could otherwise step around every limit by changing addresses.
 */
export function addressKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const bytes = ipBytes(ip);
  if (!bytes) return ip;
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `${groups.join(':')}::/64`;
}

export interface Cidr {
  bytes: Uint8Array;
  /** Prefix length over the 128-bit form. */
  bits: number;
  /** Written as IPv4 (its prefix length as written is bits - 96). */
  v4: boolean;
}

/** Parses "1.2.3.0/24", "2001:db8::/32" or a bare IP; undefined when it is neither. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash === -1 ? text : text.slice(0, slash);
  const bytes = ipBytes(addr);
  if (!bytes) return undefined;
  const v4 = isIP(addr.startsWith('::ffff:') ? addr.slice(7) : addr) === 4;
  const max = v4 ? 32 : 128;
  let bits = max;
  if (slash !== -1) {
    const suffix = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(suffix) || Number(suffix) > max) return undefined;
    bits = Number(suffix);
  }
  return { bytes, bits: v4 ? bits + 96 : bits, v4 };
}

export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  let bits = cidr.bits;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const m = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((cidr.bytes[i]! & m) !== (ip[i]! & m)) return false;
  }
  return true;
}

const IPV4_MAPPED: Cidr = { bytes: ipBytes('::ffff:0.0.0.0')!, bits: 96, v4: false };

/**
 * The prefix lengths a range fixes, per family, for limits on how wide a ban may be. IPv4 clients
 * are matched as IPv4-mapped addresses (::ffff:a.b.c.d), so an IPv6 range that holds that space
 * covers IPv4 too: ::ffff:0:0/96 and ::/80 each cover every IPv4 address (v4 = 0).
 */
export function cidrWidths(cidr: Cidr): { v4?: number; v6?: number } {
  if (cidr.v4) return { v4: cidr.bits - 96 };
  if (cidr.bits >= 96) return cidrContains(IPV4_MAPPED, cidr.bytes) ? { v4: cidr.bits - 96 } : { v6: cidr.bits };
  return cidrContains(cidr, IPV4_MAPPED.bytes) ? { v4: 0, v6: cidr.bits } : { v6: cidr.bits };
}

/** Who a user@host mask is matched against: the user, real host and IP, lowercased, and the IP's bytes. */
export interface UserHost {
  user: string;
  host: string;
  ip: string;
  bytes: Uint8Array | undefined;
}

export function userHostOf(user: string, host: string, ip: string): UserHost {
  return { user: user.toLowerCase(), host: host.toLowerCase(), ip: ip.toLowerCase(), bytes: ipBytes(ip) };
}

/** A user@host mask parsed once: a user glob, and a host that is a CIDR range or else a glob. */
export interface UserHostMask {
  user: string;
  host: string;
  cidr: Cidr | undefined;
}

export function parseUserHostMask(mask: string): UserHostMask {
  const at = mask.lastIndexOf('@');
  const host = mask.slice(at + 1).toLowerCase();
  return { user: mask.slice(0, at).toLowerCase(), host, cidr: parseCidr(host) };
}

/** True when the user glob matches and the host is a range holding the IP, or a glob matching the real host or the IP. */
export function userHostMatches(mask: UserHostMask, who: UserHost): boolean {
  if (!globMatch(mask.user, who.user)) return false;
  if (mask.cidr) return !!who.bytes && cidrContains(mask.cidr, who.bytes);
  return globMatch(mask.host, who.host) || globMatch(mask.host, who.ip);
}
