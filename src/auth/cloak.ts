// Host cloaks: a keyed hash (HMAC-SHA256 with the configured secret) of the real IP or hostname.
// The same input and secret always give the same cloak, so bans on cloaks keep working, and the
// shorter prefixes of an address (IPv4 /24 and /16, IPv6 /64 and /48) are hashed as parts of
// the cloak so channel bans can still cover a whole network: *.<part>.<part>.IP.
import { createHmac, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { ipBytes } from '../protocol/mask.js';

/** The placeholder shown in the documentation; refused so nobody runs with a public secret. */
export const EXAMPLE_CLOAK_SECRET = 'replace-this-with-the-output-of-openssl-rand-hex-32';
const MIN_SECRET_LENGTH = 32;
/** Cloaks stay within HOSTLEN (64, advertised in ISUPPORT). */
const MAX_CLOAK_LENGTH = 63;

/** Why a secret is unusable, with how to make a good one; undefined when it is fine. */
export function cloakSecretProblem(secret: string): string | undefined {
  const how = 'make one with `ircd gensecret` (or `openssl rand -hex 32`) and put it in [cloaking] secret';
  if (secret === '') return `a secret is required when cloaking is enabled; ${how}`;
  if (secret === EXAMPLE_CLOAK_SECRET) return `this is the example secret from the documentation, which everyone knows; ${how}`;
  if (secret.length < MIN_SECRET_LENGTH) return `the secret is too short (${secret.length} characters, at least ${MIN_SECRET_LENGTH}); ${how}`;
  if (new Set(secret).size < 8) return `the secret is too repetitive to be random; ${how}`;
  return undefined;
}

/** A new secret for [cloaking] secret (`ircd gensecret`): 32 random bytes as 64 hex digits. */
export function newCloakSecret(): string {
  return randomBytes(32).toString('hex');
}

function part(secret: string, kind: string, data: string): string {
  return createHmac('sha256', secret).update(`${kind}\0${data}`).digest('hex').slice(0, 8);
}

/** The cloak for a real host (an IPv4 or IPv6 address, or a hostname). */
export function cloakHost(secret: string, realHost: string, prefix: string): string {
  const host = realHost.toLowerCase();
  const kind = isIP(host);
  if (kind === 4) {
    const o = host.split('.');
    return [part(secret, 'ip4', host), part(secret, 'ip4/24', o.slice(0, 3).join('.')), part(secret, 'ip4/16', o.slice(0, 2).join('.')), 'IP'].join('.');
  }
  if (kind === 6) {
    // Hash the canonical 16-byte form so "::1" and "0:0::1" cloak alike.
    const hex = Buffer.from(ipBytes(host)!).toString('hex');
    return [part(secret, 'ip6', hex), part(secret, 'ip6/64', hex.slice(0, 16)), part(secret, 'ip6/48', hex.slice(0, 12)), 'IP'].join(':');
  }
  // Hostnames keep their domain (minus the first label) so users and bans can still see the ISP.
  const labels = host.split('.').filter(Boolean);
  let domain = labels.slice(1);
  const head = `${prefix}-${part(secret, 'host', host)}`;
  while (domain.length > 0 && head.length + 1 + domain.join('.').length > MAX_CLOAK_LENGTH) domain = domain.slice(1);
  return domain.length ? `${head}.${domain.join('.')}` : head;
}
