// Registered channels (ChanServ) in the SQLite store: the founder, the access list (account →
// prefix mode given on join), and the channel's topic, modes and lists as last changed, so a
// registered channel comes back as it was after a restart or once it has emptied.
import { migrate, type Db, prepared } from './db.js';

export interface KeptListEntry {
  mask: string;
  setBy: string;
  setAt: number;
}

/** What is kept of a registered channel; account names are casefolded. */
export interface RegisteredChannel {
  /** The name as registered. */
  name: string;
  founder: string;
  registeredAt: number;
  topic: { text: string; setBy: string; setAt: number } | undefined;
  /** Flag mode letters set. */
  flags: string;
  key: string | undefined;
  limit: number | undefined;
  forward: string | undefined;
  /** List modes (b, e, I) by letter, in the order they were set. */
  lists: Map<string, KeptListEntry[]>;
}

/** The channel's modes as kept (and as written on each change). */
export type KeptModes = Pick<RegisteredChannel, 'flags' | 'key' | 'limit' | 'forward'> & { lists: ReadonlyMap<string, readonly KeptListEntry[]> };

export interface AccessEntry {
  /** Casefolded account. */
  account: string;
  /** The prefix mode letter given on join (o, h, v). */
  mode: string;
  setBy: string;
  setAt: number;
}

interface ChannelRow {
  name: string;
  founder: string;
  registered_at: number;
  topic: string | null;
  topic_set_by: string | null;
  topic_set_at: number | null;
  flags: string;
  key: string | null;
  member_limit: number | null;
  forward: string | null;
}

const SCHEMA = `
CREATE TABLE registered_channels (
  folded TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  founder TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  topic TEXT,
  topic_set_by TEXT,
  topic_set_at INTEGER,
  flags TEXT NOT NULL,
  key TEXT,
  member_limit INTEGER,
  forward TEXT
);
CREATE INDEX registered_channels_founder ON registered_channels(founder);
CREATE TABLE channel_access (
  channel TEXT NOT NULL REFERENCES registered_channels(folded) ON DELETE CASCADE ON UPDATE CASCADE,
  account TEXT NOT NULL REFERENCES accounts(folded) ON DELETE CASCADE,
  mode TEXT NOT NULL,
  set_by TEXT NOT NULL,
  set_at INTEGER NOT NULL,
  PRIMARY KEY (channel, account)
);
CREATE INDEX channel_access_account ON channel_access(account);
CREATE TABLE channel_list_entries (
  channel TEXT NOT NULL REFERENCES registered_channels(folded) ON DELETE CASCADE ON UPDATE CASCADE,
  letter TEXT NOT NULL,
  position INTEGER NOT NULL,
  mask TEXT NOT NULL,
  set_by TEXT NOT NULL,
  set_at INTEGER NOT NULL,
  PRIMARY KEY (channel, letter, position)
);
`;

export class ChannelRegistry {
  constructor(private readonly db: Db) {
    migrate(db, 'registered-channels-1', SCHEMA);
  }

  /** The registration of a (casefolded) channel name. */
  get(folded: string): RegisteredChannel | undefined {
    const row = prepared(this.db, 'SELECT * FROM registered_channels WHERE folded = ?').get(folded) as ChannelRow | undefined;
    if (!row) return undefined;
    const lists = new Map<string, KeptListEntry[]>();
    const entries = prepared(this.db, 'SELECT letter, mask, set_by, set_at FROM channel_list_entries WHERE channel = ? ORDER BY letter, position').all(folded) as {
      letter: string;
      mask: string;
      set_by: string;
      set_at: number;
    }[];
    for (const e of entries) {
      let list = lists.get(e.letter);
      if (!list) lists.set(e.letter, (list = []));
      list.push({ mask: e.mask, setBy: e.set_by, setAt: e.set_at });
    }
    return {
      name: row.name,
      founder: row.founder,
      registeredAt: row.registered_at,
      topic: row.topic === null ? undefined : { text: row.topic, setBy: row.topic_set_by ?? '', setAt: row.topic_set_at ?? 0 },
      flags: row.flags,
      key: row.key ?? undefined,
      limit: row.member_limit ?? undefined,
      forward: row.forward ?? undefined,
      lists,
    };
  }

  /** The name as registered, when the (casefolded) name is registered. */
  nameOf(folded: string): string | undefined {
    return prepared(this.db, 'SELECT name FROM registered_channels WHERE folded = ?').pluck().get(folded) as string | undefined;
  }

  /**
   * The mode a (casefolded) account gets on joining a registered channel: "o" for its founder,
   * else its access entry's letter. One read: it runs for every member of every registered
   * channel restored at a start.
   */
  joinModeOf(folded: string, account: string): string | undefined {
    return (prepared(
      this.db,
      `SELECT CASE WHEN founder = ? THEN 'o' ELSE (SELECT mode FROM channel_access WHERE channel = folded AND account = ?) END
       FROM registered_channels WHERE folded = ?`,
    )
      .pluck()
      .get(account, account, folded) ?? undefined) as string | undefined;
  }

  has(folded: string): boolean {
    return prepared(this.db, 'SELECT 1 FROM registered_channels WHERE folded = ?').get(folded) !== undefined;
  }

  /** Registered channels. */
  count(): number {
    return (prepared(this.db, 'SELECT count(*) AS n FROM registered_channels').get() as { n: number }).n;
  }

  /** Channels an account (casefolded) founded, by casefolded name. */
  foundedBy(account: string): string[] {
    return prepared(this.db, 'SELECT folded FROM registered_channels WHERE founder = ? ORDER BY folded').pluck().all(account) as string[];
  }

  /** Registers a channel as it is now. */
  register(folded: string, channel: Omit<RegisteredChannel, 'lists'> & KeptModes): void {
    this.db.transaction(() => {
      prepared(this.db,
        `INSERT INTO registered_channels (folded, name, founder, registered_at, flags) VALUES (?, ?, ?, ?, '')`,
      ).run(folded, channel.name, channel.founder, channel.registeredAt);
      this.saveModes(folded, channel);
      this.saveTopic(folded, channel.topic);
    })();
  }

  /** Forgets a registration, its access list and its lists; false when there was none. */
  drop(folded: string): boolean {
    return prepared(this.db, 'DELETE FROM registered_channels WHERE folded = ?').run(folded).changes > 0;
  }

  setFounder(folded: string, account: string): void {
    this.db.transaction(() => {
      prepared(this.db, 'UPDATE registered_channels SET founder = ? WHERE folded = ?').run(account, folded);
      // The founder holds every right: an access entry of theirs would only be confusing.
      prepared(this.db, 'DELETE FROM channel_access WHERE channel = ? AND account = ?').run(folded, account);
    })();
  }

  /** Moves a registration to a new name (RENAME); false when the new name is registered already. */
  rename(folded: string, newFolded: string, newName: string): boolean {
    if (newFolded !== folded && this.has(newFolded)) return false;
    prepared(this.db, 'UPDATE registered_channels SET folded = ?, name = ? WHERE folded = ?').run(newFolded, newName, folded);
    return true;
  }

  /** Writes the channel's modes and lists as they are now. */
  saveModes(folded: string, modes: KeptModes): void {
    this.db.transaction(() => {
      prepared(this.db, 'UPDATE registered_channels SET flags = ?, key = ?, member_limit = ?, forward = ? WHERE folded = ?').run(
        modes.flags,
        modes.key ?? null,
        modes.limit ?? null,
        modes.forward ?? null,
        folded,
      );
      prepared(this.db, 'DELETE FROM channel_list_entries WHERE channel = ?').run(folded);
      const insert = prepared(this.db, 'INSERT INTO channel_list_entries (channel, letter, position, mask, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)');
      for (const [letter, entries] of modes.lists) entries.forEach((e, i) => insert.run(folded, letter, i, e.mask, e.setBy, e.setAt));
    })();
  }

  saveTopic(folded: string, topic: RegisteredChannel['topic']): void {
    prepared(this.db, 'UPDATE registered_channels SET topic = ?, topic_set_by = ?, topic_set_at = ? WHERE folded = ?').run(
      topic?.text ?? null,
      topic?.setBy ?? null,
      topic?.setAt ?? null,
      folded,
    );
  }

  /** The access list of a channel, oldest entry first. */
  access(folded: string): AccessEntry[] {
    const rows = prepared(this.db, 'SELECT account, mode, set_by, set_at FROM channel_access WHERE channel = ? ORDER BY set_at, rowid').all(folded) as {
      account: string;
      mode: string;
      set_by: string;
      set_at: number;
    }[];
    return rows.map((r) => ({ account: r.account, mode: r.mode, setBy: r.set_by, setAt: r.set_at }));
  }

  /** The mode an account (casefolded) is given in a channel, if any. */
  accessOf(folded: string, account: string): string | undefined {
    return prepared(this.db, 'SELECT mode FROM channel_access WHERE channel = ? AND account = ?').pluck().get(folded, account) as string | undefined;
  }

  /** Entries in a channel's access list. */
  accessCount(folded: string): number {
    return (prepared(this.db, 'SELECT count(*) AS n FROM channel_access WHERE channel = ?').get(folded) as { n: number }).n;
  }

  setAccess(folded: string, entry: AccessEntry): void {
    prepared(this.db,
      `INSERT INTO channel_access (channel, account, mode, set_by, set_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (channel, account) DO UPDATE SET mode = excluded.mode, set_by = excluded.set_by, set_at = excluded.set_at`,
    ).run(folded, entry.account, entry.mode, entry.setBy, entry.setAt);
  }

  /** Removes an account's entry; false when it had none. */
  removeAccess(folded: string, account: string): boolean {
    return prepared(this.db, 'DELETE FROM channel_access WHERE channel = ? AND account = ?').run(folded, account).changes > 0;
  }

  clearAccess(folded: string): number {
    return prepared(this.db, 'DELETE FROM channel_access WHERE channel = ?').run(folded).changes;
  }
}
