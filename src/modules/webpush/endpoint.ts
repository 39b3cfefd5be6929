// Where the server may send push messages: an endpoint comes from a client, so posting to it must
// not reach what only the server can reach (SSRF). Only https URLs; and every address the name
// resolves to must be public (no loopback, private, link-local, unspecified, multicast or
// reserved range) unless the operator lists it in [webpush] allow_destinations. The request
// then goes to the address checked here, never to a second lookup of the name.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { cidrContains, type Cidr, ipBytes, parseCidr } from '../../protocol/mask.js';

/** Longest endpoint URL accepted (push services hand out a few hundred bytes). */
export const MAX_ENDPOINT_LENGTH = 1024;

/** Ranges no push service lives in, with the word a refusal uses. */
const FORBIDDEN: ReadonlyArray<[Cidr, string]> = (
  [
    ['0.0.0.0/8', 'unspecified'],
    ['10.0.0.0/8', 'private'],
    ['100.64.0.0/10', 'private'],
    ['127.0.0.0/8', 'loopback'],
    ['169.254.0.0/16', 'link-local'],
    ['172.16.0.0/12', 'private'],
    ['192.0.0.0/24', 'reserved'],
    ['192.168.0.0/16', 'private'],
    ['198.18.0.0/15', 'reserved'],
    ['224.0.0.0/4', 'multicast'],
    ['240.0.0.0/4', 'reserved'],
    ['::/128', 'unspecified'],
    ['::1/128', 'loopback'],
    ['::/96', 'reserved'], // IPv4-compatible addresses
    ['64:ff9b::/96', 'reserved'], // NAT64: an IPv4 address behind a translator
    ['fc00::/7', 'private'],
    ['fe80::/10', 'link-local'],
    ['ff00::/8', 'multicast'],
  ] as const
).map(([range, kind]) => [parseCidr(range)!, kind]);

/** Why the endpoint URL itself is unusable, or undefined. */
export function endpointProblem(text: string): string | undefined {
  if (text.length > MAX_ENDPOINT_LENGTH) return `the endpoint is longer than ${MAX_ENDPOINT_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'the endpoint is not a URL';
  }
  if (url.protocol !== 'https:') return 'the endpoint must be an https URL';
  if (url.username || url.password) return 'the endpoint must not carry credentials';
  return undefined;
}

/** The kind of forbidden range `ip` is in ("loopback", "private", ...), or undefined for a public address. */
export function forbiddenRange(ip: string, allowed: readonly Cidr[]): string | undefined {
  const bytes = ipBytes(ip);
  if (!bytes) return 'unparsable';
  if (allowed.some((cidr) => cidrContains(cidr, bytes))) return undefined;
  return FORBIDDEN.find(([cidr]) => cidrContains(cidr, bytes))?.[1];
}

export type Destination = { ok: true; address: string } | { ok: false; reason: string };

/**
 * The address to post to: the endpoint's IP, or the first address its name resolves to. Refused
 * when any resolved address is forbidden, so a name cannot pair a public address with an internal one.
 */
export async function resolveDestination(url: URL, allowed: readonly Cidr[]): Promise<Destination> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      return { ok: false, reason: `${host} does not resolve` };
    }
  }
  for (const address of addresses) {
    const kind = forbiddenRange(address, allowed);
    if (kind) return { ok: false, reason: `${host} resolves to ${address}, a ${kind} address` };
  }
  return addresses[0] ? { ok: true, address: addresses[0] } : { ok: false, reason: `${host} does not resolve` };
}
