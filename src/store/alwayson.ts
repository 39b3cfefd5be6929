// Always-on users in the SQLite store: each account's own setting, and each always-on user (one
// per account) with its identity, its away message, when its last connection left, and the
// channels it is in. Rows go with their account (ON DELETE CASCADE). Written on every change (the
// module batches a tick's changes in one transaction), so a kill -9 loses at most that tick.
import { migrate, prepared, type Db } from './db.js';

const SCHEMA = `
CREATE TABLE always_on_settings (
  account TEXT PRIMARY KEY REFERENCES accounts(folded) ON DELETE CASCADE,
  enabled INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE always_on_users (
  account TEXT PRIMARY KEY REFERENCES accounts(folded) ON DELETE CASCADE,
  nick TEXT NOT NULL,
  user TEXT NOT NULL,
  host TEXT NOT NULL,
  real_host TEXT NOT NULL,
  ip TEXT NOT NULL,
  realname TEXT NOT NULL,
  away TEXT,
  detached_at INTEGER
);
CREATE TABLE always_on_channels (
  account TEXT NOT NULL REFERENCES always_on_users(account) ON DELETE CASCADE,
  channel TEXT NOT NULL,
  PRIMARY KEY (account, channel)
) WITHOUT ROWID;
`;

/** An always-on user as stored. */
export interface AlwaysOnRow {
  /** Casefolded account name (the key). */
  account: string;
  /** The account's name as registered. */
  name: string;
  nick: string;
  user: string;
  host: string;
  real_host: string;
  ip: string;
  realname: string;
  /** The away message the user set itself (not the automatic one). */
  away: string | null;
  /** When its last connection closed (ms); null while one is attached. */
  detached_at: number | null;
  /** Its channels' names. */
  channels: string[];
}

/** A stored user as all() returns it: with its account's own setting (1 on, 0 off, null the policy's). */
export type StoredAlwaysOn = AlwaysOnRow & { enabled: number | null };

export class AlwaysOnStore {
  constructor(private readonly db: Db) {
    migrate(db, 'always-on-1', SCHEMA);
  }

  /** The account's own setting: true (on), false (off), undefined (the server's policy). */
  setting(account: string): boolean | undefined {
    const v = prepared(this.db, 'SELECT enabled FROM always_on_settings WHERE account = ?').pluck().get(account) as number | undefined;
    return v === undefined ? undefined : v === 1;
  }

  setSetting(account: string, enabled: boolean | undefined): void {
    if (enabled === undefined) prepared(this.db, 'DELETE FROM always_on_settings WHERE account = ?').run(account);
    else
      prepared(this.db, 'INSERT INTO always_on_settings (account, enabled) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET enabled = excluded.enabled').run(
        account,
        enabled ? 1 : 0,
      );
  }

  /** Every stored always-on user with its channels (at start), oldest detached first. */
  all(): StoredAlwaysOn[] {
    const rows = prepared(
      this.db,
      `SELECT u.account, a.name, u.nick, u.user, u.host, u.real_host, u.ip, u.realname, u.away, u.detached_at, s.enabled
       FROM always_on_users u JOIN accounts a ON a.folded = u.account LEFT JOIN always_on_settings s ON s.account = u.account
       ORDER BY u.detached_at`,
    ).all() as Array<Omit<StoredAlwaysOn, 'channels'>>;
    const channels = new Map<string, string[]>();
    for (const r of prepared(this.db, 'SELECT account, channel FROM always_on_channels').iterate() as Iterable<{ account: string; channel: string }>) {
      let list = channels.get(r.account);
      if (!list) channels.set(r.account, (list = []));
      list.push(r.channel);
    }
    return rows.map((r) => Object.assign(r, { channels: channels.get(r.account) ?? [] }));
  }

  /** Writes a batch of changes in one transaction: users saved whole (channels included), accounts forgotten. */
  write(saved: readonly Omit<AlwaysOnRow, 'name'>[], forgotten: readonly string[]): void {
    const upsert = prepared(
      this.db,
      `INSERT INTO always_on_users (account, nick, user, host, real_host, ip, realname, away, detached_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account) DO UPDATE SET nick = excluded.nick, user = excluded.user,
       host = excluded.host, real_host = excluded.real_host, ip = excluded.ip, realname = excluded.realname,
       away = excluded.away, detached_at = excluded.detached_at`,
    );
    const clear = prepared(this.db, 'DELETE FROM always_on_channels WHERE account = ?');
    const join = prepared(this.db, 'INSERT OR IGNORE INTO always_on_channels (account, channel) VALUES (?, ?)');
    const forget = prepared(this.db, 'DELETE FROM always_on_users WHERE account = ?');
    const exists = prepared(this.db, 'SELECT 1 FROM accounts WHERE folded = ?').pluck();
    this.db.transaction(() => {
      for (const account of forgotten) forget.run(account);
      for (const r of saved) {
        // An account dropped meanwhile takes its user with it.
        if (!exists.get(r.account)) continue;
        upsert.run(r.account, r.nick, r.user, r.host, r.real_host, r.ip, r.realname, r.away, r.detached_at);
        clear.run(r.account);
        for (const channel of r.channels) join.run(r.account, channel);
      }
    })();
  }
}
