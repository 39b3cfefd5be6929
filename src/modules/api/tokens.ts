// API bearer tokens: made by `ircd mkpasswd --token`, kept in the config only as password hashes
// (auth/password.ts, as oper passwords), checked per request. Checking a hash costs tens of
// milliseconds of CPU by design, so a token that passed is remembered by its SHA-256 in a small
// LRU; the entry holds the hash it matched, and counts only while a token with that hash is
// still configured, so removing a token on REHASH revokes it at once.
import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { hashPassword, verifyPassword } from '../../auth/password.js';
import type { ApiTokenConfig } from '../../config/schema.js';

/** Tokens start with this, so a leaked one is recognisable (secret scanners, logs). */
export const TOKEN_PREFIX = 'ircd_';

/** A new token (32 random bytes) and the hash to put in the config. */
export function makeToken(): { token: string; hash: string } {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: hashPassword(token) };
}

/** Longest Authorization value read; a token is 48 characters. */
export const MAX_TOKEN_LENGTH = 256;

export class TokenVerifier {
  /** SHA-256 of a token that passed → the configured hash it matched. */
  private readonly passed = new LRUCache<string, string>({ max: 256 });

  /** The configured token `presented` is, or undefined. */
  async verify(presented: string, tokens: readonly ApiTokenConfig[]): Promise<ApiTokenConfig | undefined> {
    if (presented.length > MAX_TOKEN_LENGTH) return undefined;
    const digest = createHash('sha256').update(presented).digest('base64');
    const known = this.passed.get(digest);
    if (known !== undefined) {
      const token = tokens.find((t) => t.hash === known);
      if (token) return token;
      this.passed.delete(digest);
    }
    for (const t of tokens) {
      if (await verifyPassword(presented, t.hash)) {
        this.passed.set(digest, t.hash);
        return t;
      }
    }
    return undefined;
  }
}
