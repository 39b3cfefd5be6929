// Accounts in the SQLite store: the casemapped name is the key, the password is kept only as a
// SCRAM-SHA-256 verifier, and TLS certificate fingerprints bind certificates for SASL EXTERNAL.
import type { ScramCredentials } from '../auth/scram.js';
import type { CaseFold } from '../protocol/casemap.js';
import { globMatch } from '../protocol/mask.js';
import { migrate, type Db, prepared } from './db.js';

export interface Account {
  /** The name as registered (shown in 900, account-tag, WHOIS). */
  name: string;
  credentials: ScramCredentials;
  email: string | undefined;
  registeredAt: number;
}

interface AccountRow {
  name: string;
  salt: Buffer;
  iterations: number;
  stored_key: Buffer;
  server_key: Buffer;
  email: string | null;
  registered_at: number;
}

const SCHEMA = `
CREATE TABLE accounts (
  folded TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  salt BLOB NOT NULL,
  iterations INTEGER NOT NULL,
  stored_key BLOB NOT NULL,
  server_key BLOB NOT NULL,
  email TEXT,
  registered_at INTEGER NOT NULL
);
CREATE TABLE account_certfps (
  fingerprint TEXT PRIMARY KEY,
  account TEXT NOT NULL REFERENCES accounts(folded) ON DELETE CASCADE
);
CREATE INDEX account_certfps_account ON account_certfps(account);
`;

function toAccount(row: AccountRow): Account {
  return {
    name: row.name,
    credentials: { salt: row.salt, iterations: row.iterations, storedKey: row.stored_key, serverKey: row.server_key },
    email: row.email ?? undefined,
    registeredAt: row.registered_at,
  };
}

/** A SHA-256 certificate fingerprint as lowercase hex without colons, or undefined when it is not one. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

export class AccountStore {
  constructor(
    private readonly db: Db,
    /** The server's casemapping: account names compare like nicks. */
    private readonly fold: CaseFold,
    /** The TR39 skeleton under the utf8 casemapping, so a look-alike of an account's name is found. */
    private readonly skeleton?: (name: string) => string,
  ) {
    migrate(db, 'accounts-1', SCHEMA);
    migrate(db, 'accounts-2-skeleton', 'ALTER TABLE accounts ADD COLUMN skeleton TEXT; CREATE INDEX accounts_skeleton ON accounts(skeleton);');
    if (skeleton) this.fillSkeletons(skeleton);
  }

  /** Accounts registered while another casemapping ran have no skeleton yet: it is computed once here. */
  private fillSkeletons(skeleton: (name: string) => string): void {
    const rows = prepared(this.db, 'SELECT folded, name FROM accounts WHERE skeleton IS NULL').all() as Array<{ folded: string; name: string }>;
    if (rows.length === 0) return;
    const update = prepared(this.db, 'UPDATE accounts SET skeleton = ? WHERE folded = ?');
    this.db.transaction(() => {
      for (const row of rows) update.run(skeleton(row.name), row.folded);
    })();
  }

  /** The name of an account that looks like `name` (the same skeleton) without being it, under utf8. */
  lookalikeOf(name: string): string | undefined {
    if (!this.skeleton) return undefined;
    const row = prepared(this.db, 'SELECT name FROM accounts WHERE skeleton = ? AND folded != ? LIMIT 1').get(this.skeleton(name), this.fold(name)) as
      | { name: string }
      | undefined;
    return row?.name;
  }

  get(name: string): Account | undefined {
    const row = prepared(this.db, 'SELECT * FROM accounts WHERE folded = ?').get(this.fold(name)) as AccountRow | undefined;
    return row && toAccount(row);
  }

  /** The account's name as registered, if it exists (a cheap check: every registration asks). */
  nameOf(name: string): string | undefined {
    const row = prepared(this.db, 'SELECT name FROM accounts WHERE folded = ?').get(this.fold(name)) as { name: string } | undefined;
    return row?.name;
  }

  /** Creates the account; false when the name is taken. */
  create(name: string, credentials: ScramCredentials, email: string | undefined): boolean {
    const result = prepared(this.db,
        `INSERT INTO accounts (folded, name, skeleton, salt, iterations, stored_key, server_key, email, registered_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (folded) DO NOTHING`,
      )
      .run(this.fold(name), name, this.skeleton?.(name) ?? null, credentials.salt, credentials.iterations, credentials.storedKey, credentials.serverKey, email ?? null, Date.now());
    return result.changes === 1;
  }

  /** Deletes the account and its fingerprints; false when there is none. */
  drop(name: string): boolean {
    return prepared(this.db, 'DELETE FROM accounts WHERE folded = ?').run(this.fold(name)).changes === 1;
  }

  setCredentials(name: string, c: ScramCredentials): boolean {
    return (
      prepared(this.db, 'UPDATE accounts SET salt = ?, iterations = ?, stored_key = ?, server_key = ? WHERE folded = ?')
        .run(c.salt, c.iterations, c.storedKey, c.serverKey, this.fold(name)).changes === 1
    );
  }

  /** Accounts whose name matches the glob, in name order, at most `limit`; `more` tells whether others matched. */
  list(pattern: string, limit: number): { accounts: Account[]; more: boolean } {
    const glob = this.fold(pattern);
    const accounts: Account[] = [];
    for (const row of prepared(this.db, 'SELECT * FROM accounts ORDER BY folded').iterate() as Iterable<AccountRow>) {
      if (!globMatch(glob, this.fold(row.name))) continue;
      if (accounts.length === limit) return { accounts, more: true };
      accounts.push(toAccount(row));
    }
    return { accounts, more: false };
  }

  /** The account a certificate fingerprint is bound to. */
  byFingerprint(fingerprint: string): Account | undefined {
    const row = prepared(this.db, 'SELECT accounts.* FROM account_certfps JOIN accounts ON accounts.folded = account_certfps.account WHERE fingerprint = ?')
      .get(fingerprint) as AccountRow | undefined;
    return row && toAccount(row);
  }

  fingerprints(name: string): string[] {
    const rows = prepared(this.db, 'SELECT fingerprint FROM account_certfps WHERE account = ? ORDER BY fingerprint').all(this.fold(name));
    return (rows as Array<{ fingerprint: string }>).map((r) => r.fingerprint);
  }

  /** Binds a fingerprint to the account; 'taken' when another account (or this one) already has it. */
  addFingerprint(name: string, fingerprint: string): 'added' | 'taken' {
    const r = prepared(this.db, 'INSERT INTO account_certfps (fingerprint, account) VALUES (?, ?) ON CONFLICT (fingerprint) DO NOTHING')
      .run(fingerprint, this.fold(name));
    return r.changes === 1 ? 'added' : 'taken';
  }

  removeFingerprint(name: string, fingerprint: string): boolean {
    return prepared(this.db, 'DELETE FROM account_certfps WHERE account = ? AND fingerprint = ?').run(this.fold(name), fingerprint).changes === 1;
  }
}
