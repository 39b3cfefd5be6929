// Reverse DNS for connecting clients: a PTR lookup confirmed by a forward lookup of the name
// (otherwise anyone controlling their reverse zone could claim any hostname), within a timeout.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ipBytes } from '../protocol/mask.js';

/** Hostnames that fit HOSTLEN (64) and cannot be confused with anything else on the wire. */
const HOSTNAME_RE = /^(?=.{1,63}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

/** The name lowercased and without a trailing dot when it is usable as a host, else undefined. */
export function usableHostname(raw: string): string | undefined {
  const name = raw.toLowerCase().replace(/\.$/, '');
  return HOSTNAME_RE.test(name) ? name : undefined;
}

function sameIp(a: string, b: string): boolean {
  const x = ipBytes(a);
  const y = ipBytes(b);
  return !!x && !!y && Buffer.compare(x, y) === 0;
}

/** The confirmed hostname of an IP, or undefined (no PTR, no match, unusable name, or timeout). */
export async function resolveHostname(ip: string, timeoutMs: number): Promise<string | undefined> {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  const deadline = setTimeout(() => resolver.cancel(), timeoutMs);
  try {
    const names = await resolver.reverse(ip);
    for (const raw of names.slice(0, 4)) {
      const name = usableHostname(raw);
      if (!name) continue;
      const addrs = isIP(ip) === 6 ? await resolver.resolve6(name) : await resolver.resolve4(name);
      if (addrs.some((a) => sameIp(a, ip))) return name;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    clearTimeout(deadline);
  }
}
