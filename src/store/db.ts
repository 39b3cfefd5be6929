// The durable store: one SQLite database (better-sqlite3, WAL). Each feature that keeps data
// (bans, accounts, ...) declares its own tables through `migrate`, applied once per name.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

export class StoreError extends Error {}

/**
 * Opens (creating on first start) the database at `path`. A file that exists but is not a
 * readable SQLite database is an error naming the file, never a silent reset.
 */
export function openStore(path: string): Db {
  const existed = path !== ':memory:' && existsSync(path);
  let db: Db;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.exec('CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
    if (existed) {
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`integrity check failed: ${String(check)}`);
    }
  } catch (err) {
    throw new StoreError(`cannot open the database ${path}: ${(err as Error).message}`);
  }
  return db;
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/** A prepared statement, compiled once per database and reused (preparing costs more than running). */
export function prepared(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let stmt = cache.get(sql);
  if (!stmt) cache.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}

/** Runs `sql` once for this database under a unique migration name, in a transaction. */
export function migrate(db: Db, name: string, sql: string): void {
  const done = db.prepare('SELECT 1 FROM migrations WHERE name = ?').get(name);
  if (done) return;
  db.transaction(() => {
    db.exec(sql);
    db.prepare('INSERT INTO migrations (name, applied_at) VALUES (?, ?)').run(name, Date.now());
  })();
}
