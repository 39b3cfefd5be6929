// Chat history (IRCv3 draft/chathistory) in the SQLite store, for `[history] backend = "sqlite"`:
// one row per message, keyed by its target (a casefolded channel name, or a direct conversation's
// key), in time order and, within a millisecond, storage order (`seq`). Rows are written in
// batches, one transaction each (see modules/history/sqlstore.ts); reads are range queries on the
// one index (target, at), whose entries end with the rowid `seq`: every write touches the table
// and that index only, which keeps the pages a batch dirties (and the WAL checkpoints) few.
import { LRUCache } from 'lru-cache';
import { migrate, prepared, type Db } from './db.js';

const SCHEMA = `
CREATE TABLE history (
  seq INTEGER PRIMARY KEY,
  target TEXT NOT NULL,
  at INTEGER NOT NULL,
  msgid TEXT NOT NULL,
  command TEXT NOT NULL,
  line TEXT NOT NULL,
  tags TEXT,
  multiline TEXT,
  sender_run INTEGER NOT NULL,
  sender_id INTEGER NOT NULL,
  sender_account TEXT
);
CREATE INDEX history_target_at ON history(target, at);
CREATE TABLE history_peers (
  target TEXT NOT NULL,
  id TEXT NOT NULL,
  nick TEXT NOT NULL,
  PRIMARY KEY (target, id)
) WITHOUT ROWID;
CREATE INDEX history_peers_id ON history_peers(id, target);
`;

/** One stored message as the table holds it. */
export interface HistoryRow {
  seq: number;
  target: string;
  at: number;
  msgid: string;
  command: string;
  line: string;
  tags: string | null;
  multiline: string | null;
  sender_run: number;
  sender_id: number;
  sender_account: string | null;
}

/**
 * New messages to store, column by column, all of one run: handed to the writer thread, arrays of
 * strings and numbers are copied at half the cost of as many row objects.
 */
export interface HistoryBatch {
  run: number;
  target: string[];
  at: number[];
  msgid: string[];
  command: string[];
  line: string[];
  tags: Array<string | null>;
  multiline: Array<string | null>;
  senderId: number[];
  senderAccount: Array<string | null>;
}

export function emptyBatch(run: number): HistoryBatch {
  return { run, target: [], at: [], msgid: [], command: [], line: [], tags: [], multiline: [], senderId: [], senderAccount: [] };
}

/** One side of a range: a time, or a stored message's place (its time and seq). */
export interface Bound {
  op: '>' | '>=' | '<';
  at: number;
  seq?: number;
}

/** The commands a reader may see, always four (repeated to fill), so one statement serves every reader. */
export type Commands = readonly [string, string, string, string];

/** Most rows one prune run deletes for each reason (age, database size): bounded work per run. */
const PRUNE_ROWS = 10000;
/** Rows deleted at a time while the database is over max_db_bytes. */
const SIZE_STEP = 1000;

const COLUMNS = 'seq, target, at, msgid, command, line, tags, multiline, sender_run, sender_id, sender_account';

export class HistoryTable {
  /** Transactions that wrote messages (the batching tests count them). */
  transactions = 0;
  private rowCount = 0;
  /**
   * Messages stored per recently written target, so that keeping the newest `keep` deletes just
   * the rows past it instead of counting `keep` index entries at every write. Counted once when a
   * target is first written (or after a change that moves many rows), then kept exact.
   */
  private readonly counts = new LRUCache<string, number>({ max: 10000 });

  constructor(private readonly db: Db) {
    migrate(db, 'history-1', SCHEMA);
    this.recount();
  }

  /** Counts the messages again, after another connection wrote. */
  recount(): void {
    this.rowCount = this.db.prepare('SELECT COUNT(*) FROM history').pluck().get() as number;
    this.counts.clear();
  }

  /** Messages stored. */
  get rows(): number {
    return this.rowCount;
  }

  /** Bytes of the store file in use (its pages less the free ones): history is most of it. */
  usedBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return (pages - free) * size;
  }

  /**
   * Writes a batch in one transaction: the messages, the nicks of the direct conversations'
   * participants, then each touched target cut to its newest `keep` messages.
   */
  write(rows: HistoryBatch, peers: ReadonlyArray<{ target: string; id: string; nick: string }>, keep: number): void {
    const insert = prepared(
      this.db,
      `INSERT INTO history (target, at, msgid, command, line, tags, multiline, sender_run, sender_id, sender_account)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const peer = prepared(this.db, 'INSERT INTO history_peers (target, id, nick) VALUES (?, ?, ?) ON CONFLICT (target, id) DO UPDATE SET nick = excluded.nick WHERE nick != excluded.nick');
    const count = prepared(this.db, 'SELECT COUNT(*) FROM history WHERE target = ?').pluck();
    const trim = prepared(this.db, 'DELETE FROM history WHERE seq IN (SELECT seq FROM history WHERE target = ? ORDER BY at, seq LIMIT ?)');
    this.db.transaction(() => {
      const added = new Map<string, number>();
      const n = rows.target.length;
      for (let i = 0; i < n; i++) {
        const target = rows.target[i]!;
        insert.run(target, rows.at[i], rows.msgid[i], rows.command[i], rows.line[i], rows.tags[i], rows.multiline[i], rows.run, rows.senderId[i], rows.senderAccount[i]);
        added.set(target, (added.get(target) ?? 0) + 1);
      }
      for (const p of peers) peer.run(p.target, p.id, p.nick);
      let deleted = 0;
      for (const [target, n] of added) {
        const known = this.counts.get(target);
        let stored = known === undefined ? (count.get(target) as number) : known + n;
        if (stored > keep) {
          deleted += trim.run(target, stored - keep).changes;
          stored = keep;
        }
        this.counts.set(target, stored);
      }
      this.rowCount += n - deleted;
    })();
    this.transactions++;
  }

  /** The visible message a msgid names in a target, if stored and not older than `since`. */
  byMsgid(target: string, msgid: string, commands: Commands, since: number): HistoryRow | undefined {
    return prepared(
      this.db,
      `SELECT ${COLUMNS} FROM history WHERE target = ? AND msgid = ? AND command IN (?, ?, ?, ?) AND at >= ?`,
    ).get(target, msgid, ...commands, since) as HistoryRow | undefined;
  }

  /**
   * Up to `limit` visible messages of a target within the bounds and not older than `since`,
   * the first ones (ascending) or the last ones (descending, returned newest first).
   */
  range(target: string, commands: Commands, since: number, bounds: readonly Bound[], order: 'ASC' | 'DESC', limit: number): HistoryRow[] {
    const where = bounds.map((b) => (b.seq === undefined ? ` AND at ${b.op} ?` : ` AND (at, seq) ${b.op} (?, ?)`)).join('');
    const values = bounds.flatMap((b) => (b.seq === undefined ? [b.at] : [b.at, b.seq]));
    return prepared(
      this.db,
      `SELECT ${COLUMNS} FROM history WHERE target = ? AND command IN (?, ?, ?, ?) AND at >= ?${where} ORDER BY at ${order}, seq ${order} LIMIT ?`,
    ).all(target, ...commands, since, ...values, limit) as HistoryRow[];
  }

  /** Time of a target's newest message, if it is not older than `since`. */
  latestAt(target: string, since: number): number | undefined {
    const at = prepared(this.db, 'SELECT at FROM history WHERE target = ? ORDER BY at DESC, seq DESC LIMIT 1').pluck().get(target) as number | undefined;
    return at !== undefined && at >= since ? at : undefined;
  }

  /** The participants (id and last nick) of every direct conversation `id` takes part in. */
  peersOf(id: string): Array<{ target: string; id: string; nick: string }> {
    return prepared(
      this.db,
      'SELECT p.target, p.id, p.nick FROM history_peers me JOIN history_peers p ON p.target = me.target WHERE me.id = ?',
    ).all(id) as Array<{ target: string; id: string; nick: string }>;
  }

  /** Deletes one message; whether it was there. */
  remove(target: string, msgid: string): boolean {
    const gone = prepared(this.db, 'DELETE FROM history WHERE target = ? AND msgid = ?').run(target, msgid).changes;
    this.rowCount -= gone;
    this.counts.delete(target);
    return gone > 0;
  }

  /** Moves a channel's messages to its new (casefolded) name. */
  rename(from: string, to: string): void {
    if (from === to) return;
    prepared(this.db, 'UPDATE history SET target = ? WHERE target = ?').run(to, from);
    this.counts.delete(from);
    this.counts.delete(to);
  }

  /** Deletes every direct conversation a participant (`a:<account>`, or `c:` for every connection) takes part in. */
  forgetParticipant(id: string, prefix = false): void {
    const targets = prefix
      ? (prepared(this.db, "SELECT DISTINCT target FROM history_peers WHERE id >= ? AND id < ? || char(1114111)").pluck().all(id, id) as string[])
      : (prepared(this.db, 'SELECT target FROM history_peers WHERE id = ?').pluck().all(id) as string[]);
    this.db.transaction(() => {
      for (const target of targets) {
        this.rowCount -= prepared(this.db, 'DELETE FROM history WHERE target = ?').run(target).changes;
        prepared(this.db, 'DELETE FROM history_peers WHERE target = ?').run(target);
        this.counts.delete(target);
      }
    })();
  }

  /**
   * Deletes messages older than `before` among the `max` oldest stored (storage order is time
   * order: no index on time alone is kept for this); how many went.
   */
  pruneOlder(before: number, max: number): number {
    const gone = prepared(this.db, 'DELETE FROM history WHERE seq IN (SELECT seq FROM history ORDER BY seq LIMIT ?) AND at < ?').run(max, before).changes;
    this.rowCount -= gone;
    if (gone > 0) this.counts.clear();
    return gone;
  }

  /** Deletes the `n` oldest messages of all; how many went. */
  pruneOldest(n: number): number {
    const gone = prepared(this.db, 'DELETE FROM history WHERE seq IN (SELECT seq FROM history ORDER BY seq LIMIT ?)').run(n).changes;
    this.rowCount -= gone;
    if (gone > 0) this.counts.clear();
    return gone;
  }

  /**
   * Deletes, in bounded steps, messages older than `since`, then the oldest messages while the
   * file's used pages are over `maxDbBytes`, then participants of conversations left empty.
   */
  prune(since: number, maxDbBytes: number): void {
    this.pruneOlder(since, PRUNE_ROWS);
    for (let n = 0; n < PRUNE_ROWS && this.usedBytes() > maxDbBytes; n += SIZE_STEP) {
      if (this.pruneOldest(SIZE_STEP) === 0) break;
    }
    this.pruneOrphanPeers(PRUNE_ROWS);
  }

  /** Forgets up to `max` participants of conversations that have no message left. */
  pruneOrphanPeers(max: number): void {
    prepared(
      this.db,
      `DELETE FROM history_peers WHERE (target, id) IN (SELECT target, id FROM history_peers p
       WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.target = p.target) LIMIT ?)`,
    ).run(max);
  }
}
