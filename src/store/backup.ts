// `ircd backup`: a consistent copy of the store while the server runs. The store is in WAL mode,
// so its recent writes may sit in the -wal file beside it and a copy of the database file alone
// can lose them; SQLite's online backup API (https://www.sqlite.org/backup.html) reads the
// database as one snapshot, WAL included, and restarts when the server writes meanwhile.
import Database from 'better-sqlite3';
import { chmodSync, existsSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { StoreError } from './db.js';

export interface BackupResult {
  /** Size of the copy in bytes. */
  bytes: number;
  /** Names of the migrations the copy holds, so a restore can be matched to a version. */
  migrations: string[];
}

/**
 * Copies the database at `source` to the new file `dest` and checks the copy. The copy is a
 * single file (rollback journal mode; the server turns WAL on again when it opens it) readable by
 * its owner only, as the store holds password verifiers. An existing `dest` is never overwritten.
 */
export async function backupStore(source: string, dest: string): Promise<BackupResult> {
  if (source === ':memory:') throw new StoreError('the store is in memory ([store] path = ":memory:"): there is nothing to back up');
  if (!existsSync(source)) throw new StoreError(`there is no database at ${source} (the server creates it on its first start)`);
  if (resolve(source) === resolve(dest)) throw new StoreError(`the backup must go to another file than the database ${source}`);
  if (existsSync(dest)) throw new StoreError(`${dest} already exists; a backup never overwrites a file, so name a new one`);
  let db: Database.Database;
  try {
    // Not read-only: a read-only connection to a stopped server's store would leave -wal and -shm
    // files (owned by whoever ran this) behind, while the last connection to close removes them.
    db = new Database(source, { fileMustExist: true });
  } catch (err) {
    throw new StoreError(`cannot open the database ${source}: ${(err as Error).message}`);
  }
  try {
    await db.backup(dest);
  } catch (err) {
    rmSync(dest, { force: true });
    throw new StoreError(`cannot back up ${source} to ${dest}: ${(err as Error).message}`);
  } finally {
    db.close();
  }
  const copy = new Database(dest);
  try {
    copy.pragma('journal_mode = DELETE');
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new Error(`integrity check failed: ${String(check)}`);
    const migrations = copy.prepare('SELECT name FROM migrations ORDER BY applied_at, name').pluck().all() as string[];
    copy.close();
    chmodSync(dest, 0o600);
    return { bytes: statSync(dest).size, migrations };
  } catch (err) {
    copy.close();
    rmSync(dest, { force: true });
    throw new StoreError(`the copy of ${source} is not usable, so ${dest} was removed: ${(err as Error).message}`);
  }
}
