// Server bans (K-lines: user@host, D-lines: IP/CIDR, X-lines: realname) kept in SQLite so they
// survive restarts, with an in-memory index for the checks made on every connection.
import { BanIndex, expired, type BanKind, type BanSubject, type ServerBan } from './ban-index.js';
import { migrate, type Db } from './db.js';

interface Row {
  kind: BanKind;
  mask: string;
  reason: string;
  set_by: string;
  set_at: number;
  expires_at: number | null;
}

const SCHEMA = `
CREATE TABLE server_bans (
  kind TEXT NOT NULL CHECK (kind IN ('K', 'D', 'X')),
  mask TEXT NOT NULL,
  reason TEXT NOT NULL,
  set_by TEXT NOT NULL,
  set_at INTEGER NOT NULL,
  expires_at INTEGER,
  PRIMARY KEY (kind, mask)
);`;

export class BanStore {
  private readonly index = new BanIndex();
  private readonly insert;
  private readonly remove_;
  private readonly purge;

  constructor(db: Db) {
    migrate(db, 'bans-1', SCHEMA);
    this.insert = db.prepare(
      'INSERT OR REPLACE INTO server_bans (kind, mask, reason, set_by, set_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.remove_ = db.prepare('DELETE FROM server_bans WHERE kind = ? AND mask = ?');
    this.purge = db.prepare('DELETE FROM server_bans WHERE expires_at IS NOT NULL AND expires_at <= ?');
    this.purge.run(Date.now());
    for (const r of db.prepare('SELECT * FROM server_bans ORDER BY set_at').all() as Row[]) {
      const ban = { kind: r.kind, mask: r.mask, reason: r.reason, setBy: r.set_by, setAt: r.set_at, expiresAt: r.expires_at ?? undefined };
      this.index.add(ban);
    }
  }

  get size(): number {
    return this.index.size;
  }

  has(kind: BanKind, mask: string): boolean {
    return this.index.has(kind, mask);
  }

  /** Adds or replaces (same kind and mask) a ban; written before it takes effect. */
  add(ban: ServerBan): void {
    this.insert.run(ban.kind, ban.mask, ban.reason, ban.setBy, ban.setAt, ban.expiresAt ?? null);
    this.index.add(ban);
  }

  remove(kind: BanKind, mask: string): ServerBan | undefined {
    if (!this.index.has(kind, mask)) return undefined;
    this.remove_.run(kind, mask);
    return this.index.delete(kind, mask);
  }

  /** Whether any ban of this kind is held, so a caller can skip building what a lookup needs. */
  holds(kind: BanKind): boolean {
    return this.index.holds(kind);
  }

  /** Live bans of one kind, oldest first. */
  list(kind: BanKind, now = Date.now()): ServerBan[] {
    return [...this.index.bans()].filter((b) => b.kind === kind && !expired(b, now));
  }

  /** The earliest-set live D-line whose range holds the address (16 bytes, see ipBytes). */
  dlineCovering(bytes: Uint8Array, now = Date.now()): ServerBan | undefined {
    return this.index.dlineCovering(bytes, now);
  }

  /** The earliest-set live K-line or X-line (by `kind`) matching `who`. */
  matching(kind: 'K' | 'X', who: BanSubject, now = Date.now()): ServerBan | undefined {
    return this.index.matching(kind, who, now);
  }

  /** Drops expired bans and returns them. */
  expire(now = Date.now()): ServerBan[] {
    const gone = [...this.index.bans()].filter((b) => expired(b, now));
    if (gone.length === 0) return gone;
    this.purge.run(now);
    for (const b of gone) this.index.delete(b.kind, b.mask);
    return gone;
  }
}
