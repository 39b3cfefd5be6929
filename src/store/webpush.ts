// Web Push in the SQLite store (draft/webpush, https://github.com/ircv3/ircv3-specifications/pull/471):
// the server's VAPID key pair (RFC 8292), made once on first use and kept, since browsers bind a
// subscription to the key it was made for; and each account's push subscriptions.
import { generateKeyPairSync } from 'node:crypto';
import { migrate, prepared, type Db } from './db.js';

const SCHEMA = `
CREATE TABLE webpush_vapid (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  private_key BLOB NOT NULL,
  public_key BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE webpush_subscriptions (
  account TEXT NOT NULL REFERENCES accounts(folded) ON DELETE CASCADE,
  endpoint TEXT NOT NULL,
  p256dh BLOB NOT NULL,
  auth BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  refreshed_at INTEGER NOT NULL,
  PRIMARY KEY (account, endpoint)
);
CREATE INDEX webpush_subscriptions_endpoint ON webpush_subscriptions(endpoint);
CREATE INDEX webpush_subscriptions_refreshed ON webpush_subscriptions(refreshed_at);
`;

/** A P-256 key pair as raw bytes: the 32-byte private scalar and the 65-byte uncompressed public point. */
export interface VapidKeys {
  privateKey: Buffer;
  publicKey: Buffer;
}

export interface PushSubscription {
  endpoint: string;
  /** The user agent's P-256 ECDH public key (65 bytes, uncompressed). */
  p256dh: Buffer;
  /** The 16-byte authentication secret. */
  auth: Buffer;
}

export type SubscribeResult = 'added' | 'refreshed' | 'full';

export class WebPushStore {
  constructor(private readonly db: Db) {
    migrate(db, 'webpush-1', SCHEMA);
  }

  /** The server's VAPID key pair, made and stored the first time it is asked for. */
  vapidKeys(): VapidKeys {
    const row = prepared(this.db, 'SELECT private_key, public_key FROM webpush_vapid WHERE id = 1').get() as
      | { private_key: Buffer; public_key: Buffer }
      | undefined;
    if (row) return { privateKey: row.private_key, publicKey: row.public_key };
    const jwk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' });
    const privateKey = Buffer.from(jwk.d!, 'base64url');
    const publicKey = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    // Another process sharing the file may have made one meanwhile: the first one stays.
    prepared(this.db, 'INSERT INTO webpush_vapid (id, private_key, public_key, created_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING').run(
      privateKey,
      publicKey,
      Date.now(),
    );
    return this.vapidKeys();
  }

  /**
   * Adds a subscription of an account (folded name), or renews it (new keys, new refresh time)
   * when the endpoint is already one of its own; 'full' when the account has `max` already.
   */
  subscribe(account: string, sub: PushSubscription, max: number, now: number): SubscribeResult {
    return this.db.transaction((): SubscribeResult => {
      const renewed = prepared(this.db, 'UPDATE webpush_subscriptions SET p256dh = ?, auth = ?, refreshed_at = ? WHERE account = ? AND endpoint = ?').run(
        sub.p256dh,
        sub.auth,
        now,
        account,
        sub.endpoint,
      );
      if (renewed.changes === 1) return 'refreshed';
      const count = prepared(this.db, 'SELECT COUNT(*) AS n FROM webpush_subscriptions WHERE account = ?').get(account) as { n: number };
      if (count.n >= max) return 'full';
      prepared(this.db, 'INSERT INTO webpush_subscriptions (account, endpoint, p256dh, auth, created_at, refreshed_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        account,
        sub.endpoint,
        sub.p256dh,
        sub.auth,
        now,
        now,
      );
      return 'added';
    })();
  }

  has(account: string, endpoint: string): boolean {
    return prepared(this.db, 'SELECT 1 FROM webpush_subscriptions WHERE account = ? AND endpoint = ?').get(account, endpoint) !== undefined;
  }

  /** Removes one subscription of an account; false when it had none at that endpoint. */
  unsubscribe(account: string, endpoint: string): boolean {
    return prepared(this.db, 'DELETE FROM webpush_subscriptions WHERE account = ? AND endpoint = ?').run(account, endpoint).changes === 1;
  }

  /** The subscriptions of an account renewed at or after `since` (older ones have expired). */
  subscriptionsOf(account: string, since: number): PushSubscription[] {
    return prepared(this.db, 'SELECT endpoint, p256dh, auth FROM webpush_subscriptions WHERE account = ? AND refreshed_at >= ?').all(
      account,
      since,
    ) as PushSubscription[];
  }

  /** Forgets subscriptions not renewed since `before`; returns how many. */
  expire(before: number): number {
    return prepared(this.db, 'DELETE FROM webpush_subscriptions WHERE refreshed_at < ?').run(before).changes;
  }
}
