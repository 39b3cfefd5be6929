// The durable store: one SQLite database (better-sqlite3, WAL). Each feature that keeps data
// (bans, accounts, ...) declares its own tables through `migrate`, applied once per name; at
// startup the store must hold what those make and nothing a newer version migrated.
import Database from 'better-sqlite3';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

export class StoreError extends Error {}

/** The first 16 bytes of every SQLite database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
/** The newest file format read and write versions (header bytes 18 and 19) SQLite 3 knows: 2 is WAL. */
const NEWEST_FILE_FORMAT = 2;

/**
 * What stops the server from using an existing file as its store, said plainly, before SQLite
 * answers with "file is not a database" or, at the first write, "attempt to write a readonly
 * database".
 */
function fileProblem(path: string): string | undefined {
  const header = Buffer.alloc(100);
  let length: number;
  try {
    const fd = openSync(path, 'r');
    try {
      length = readSync(fd, header, 0, header.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
  }
  if (length === 0) return undefined; // an empty file: SQLite makes a new database in it
  if (length < header.length || !header.subarray(0, SQLITE_HEADER.length).equals(SQLITE_HEADER))
    return 'it is not a SQLite database (it does not start with the SQLite header)';
  const [read, write] = [header[18]!, header[19]!];
  if (read > NEWEST_FILE_FORMAT || write > NEWEST_FILE_FORMAT)
    return `it was written in a newer SQLite file format (read version ${read}, write version ${write}) than this build reads (at most ${NEWEST_FILE_FORMAT})`;
  const user = `user ${process.getuid?.() ?? '?'}`;
  if (!writable(path)) return `the file is read-only for this process (${user}); the server writes to it, so check its owner and mode`;
  if (!writable(dirname(path)))
    return `its folder is read-only for this process (${user}); SQLite keeps its -wal and -shm files beside the database`;
  return undefined;
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens (creating on first start) the database at `path`. A file that exists but is not a
 * readable SQLite database is an error naming the file, never a silent reset.
 */
export function openStore(path: string): Db {
  const existed = path !== ':memory:' && existsSync(path);
  const problem = existed ? fileProblem(path) : undefined;
  if (problem) throw new StoreError(`cannot open the database ${path}: ${problem}`);
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

interface Migration {
  name: string;
  sql: string;
}

/** The migrations this process declared for each database, in order: what its schema must be. */
const declared = new WeakMap<Db, Migration[]>();

/** Runs `sql` once for this database under a unique migration name, in a transaction. */
export function migrate(db: Db, name: string, sql: string): void {
  let migrations = declared.get(db);
  if (!migrations) declared.set(db, (migrations = []));
  migrations.push({ name, sql });
  const done = db.prepare('SELECT 1 FROM migrations WHERE name = ?').get(name);
  if (done) return;
  try {
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO migrations (name, applied_at) VALUES (?, ?)').run(name, Date.now());
    })();
  } catch (err) {
    throw new StoreError(`cannot apply the migration ${name} to the database ${db.name}: ${(err as Error).message}`);
  }
}

function columnsByTable(db: Db): Map<string, string[]> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  return new Map(tables.map((t) => [t, db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(t) as string[]]));
}

/**
 * Refuses a store without the tables and columns the declared migrations make (a table dropped
 * by hand, a half-restored copy), naming what is missing; otherwise every command using them
 * would fail. The expected schema comes from replaying those migrations in an empty in-memory
 * database, so it is never written down twice. Call it once every feature has declared its own.
 */
export function checkTables(db: Db): void {
  const model = new Database(':memory:');
  /** "table" or "table.column" → the migration that made it. */
  const madeBy = new Map<string, string>();
  const note = (what: string, migration: string) => {
    if (!madeBy.has(what)) madeBy.set(what, migration);
  };
  try {
    for (const m of declared.get(db) ?? []) {
      model.exec(m.sql);
      for (const [table, columns] of columnsByTable(model)) {
        note(table, m.name);
        for (const column of columns) note(`${table}.${column}`, m.name);
      }
    }
    const actual = columnsByTable(db);
    const missing: string[] = [];
    for (const [table, columns] of columnsByTable(model)) {
      const have = actual.get(table);
      if (!have) missing.push(`table ${table} (migration ${madeBy.get(table)})`);
      else for (const column of columns.filter((c) => !have.includes(c))) missing.push(`column ${table}.${column} (migration ${madeBy.get(`${table}.${column}`)})`);
    }
    if (missing.length) throw new StoreError(`the database ${db.name} is missing ${missing.join(', ')}; restore it from a backup`);
  } finally {
    model.close();
  }
}

/**
 * Refuses a store that lists migrations this version does not declare: a newer version wrote it,
 * and this one cannot know what they changed. Only where every feature has declared its
 * migrations (the server), or those of the others would count as unknown.
 */
export function checkMigrationsKnown(db: Db): void {
  const known = new Set((declared.get(db) ?? []).map((m) => m.name));
  const applied = db.prepare('SELECT name FROM migrations ORDER BY applied_at, name').pluck().all() as string[];
  const unknown = applied.filter((name) => !known.has(name));
  if (unknown.length)
    throw new StoreError(
      `the database ${db.name} was written by a newer version of ircd: it has the migration${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, which this version does not know; run the newer version or restore a backup`,
    );
}
