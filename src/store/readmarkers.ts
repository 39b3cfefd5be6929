// Read markers of accounts (IRCv3 draft/read-marker) in the SQLite store, so every session of an
// account, including one after a restart, learns where the user stopped reading.
import { migrate, type Db, prepared } from './db.js';

export interface ReadMarker {
  /** The target as the user last named it (channel or nick). */
  name: string;
  /** Last read time, ms since the epoch. */
  at: number;
}

const SCHEMA = `
CREATE TABLE read_markers (
  account TEXT NOT NULL REFERENCES accounts(folded) ON DELETE CASCADE,
  target TEXT NOT NULL,
  name TEXT NOT NULL,
  at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (account, target)
);
CREATE INDEX read_markers_updated ON read_markers(account, updated_at);
`;

export class ReadMarkerStore {
  constructor(private readonly db: Db) {
    migrate(db, 'read-markers-1', SCHEMA);
  }

  /** The marker of a (casefolded) target for a (casefolded) account. */
  get(account: string, target: string): ReadMarker | undefined {
    return prepared(this.db, 'SELECT name, at FROM read_markers WHERE account = ? AND target = ?').get(account, target) as
      | ReadMarker
      | undefined;
  }

  /** Sets a marker and forgets the least recently set ones beyond `keep`. */
  set(account: string, target: string, marker: ReadMarker, keep: number): void {
    this.db.transaction(() => {
      prepared(this.db,
          `INSERT INTO read_markers (account, target, name, at, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (account, target) DO UPDATE SET name = excluded.name, at = excluded.at, updated_at = excluded.updated_at`,
        )
        .run(account, target, marker.name, marker.at, Date.now());
      prepared(this.db,
          `DELETE FROM read_markers WHERE account = ? AND target NOT IN
           (SELECT target FROM read_markers WHERE account = ? ORDER BY updated_at DESC, rowid DESC LIMIT ?)`,
        )
        .run(account, account, keep);
    })();
  }

  /** Every marker of an account, most recently set last. */
  all(account: string): ReadMarker[] {
    return prepared(this.db, 'SELECT name, at FROM read_markers WHERE account = ? ORDER BY updated_at, rowid').all(account) as ReadMarker[];
  }
}
