// `ircd backup`: a copy of the store taken while the server runs holds what it had just written
// (still in the WAL), restores by starting a server on it, and bad requests are refused clearly.
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runIrcd } from '../support/daemon.js';
import { client, testConfig, toToml, useServers } from '../support/harness.js';
import { loggedInClient } from '../support/login.js';
import { operConfig, operUp } from '../support/oper.js';

const backup = (...args: string[]) => runIrcd(['backup', ...args]);

const servers = useServers();

describe('ircd backup', () => {
  it('copies the running store, WAL included, into a file a server restores from', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-backup-'));
    const store = { path: join(dir, 'ircd.db') };
    const first = await servers.start(operConfig({ store }));
    const op = await client(first.port, 'op');
    await operUp(op);
    op.send('KLINE 1d spammer@192.0.2.* :kept in the backup');
    await op.waitFor((m) => m.command === 'NOTICE' && /Added .*K-Line/.test(m.params[1]!));
    (await loggedInClient(first.server, first.port, 'keeper', 'keeper')).close();
    // The server holds the store open and has checkpointed nothing: the ban and the account are
    // in the -wal file, which the copy must include.
    expect(statSync(`${store.path}-wal`).size).toBeGreaterThan(0);

    const dest = join(dir, 'copy.db');
    const res = backup(dest, '--config', first.configPath);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^backed up ${store.path} to ${dest}: \\d+ bytes, integrity ok, migrations [\\w-]+(, [\\w-]+)*\\n$`));
    expect(statSync(dest).mode & 0o777).toBe(0o600);
    op.close();
    await servers.stop(first);

    const restored = await servers.start(operConfig({ store: { path: dest } }));
    const op2 = await client(restored.port, 'op');
    await operUp(op2);
    op2.send('STATS k');
    expect((await op2.collectUntilPong()).filter((m) => m.command === '216').map((m) => `${m.params[4]}@${m.params[2]}`)).toEqual(['spammer@192.0.2.*']);
    // The helper creates the account only when the store lacks it; SASL succeeds with the old password.
    expect((await loggedInClient(restored.server, restored.port, 'keeper', 'keeper')).nick).toBe('keeper');
  });

  it('refuses an existing destination, a store in memory, a missing database and a missing --config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ircd-backup-'));
    const config = (store: string) => {
      const path = join(dir, `${store.replace(/\W/g, '')}.toml`);
      writeFileSync(path, toToml(testConfig({ store: { path: store } })));
      return path;
    };
    const taken = join(dir, 'taken.db');
    writeFileSync(taken, 'something precious');
    const srv = await servers.start({ store: { path: join(dir, 'live.db') } });
    const cases: Array<[string[], RegExp]> = [
      [[taken, '--config', srv.configPath], /taken\.db already exists; a backup never overwrites a file/],
      [[join(dir, 'live.db'), '--config', srv.configPath], /must go to another file than the database/],
      [[join(dir, 'a.db'), '--config', config(':memory:')], /the store is in memory/],
      [[join(dir, 'b.db'), '--config', config(join(dir, 'nothing-here.db'))], /there is no database at .*nothing-here\.db/],
      [[join(dir, 'c.db')], /usage: ircd backup DEST --config FILE/],
      [['--config', srv.configPath], /usage: ircd backup DEST --config FILE/],
    ];
    for (const [args, message] of cases) {
      const res = backup(...args);
      expect(res.status).toBe(1);
      expect(res.stderr).toMatch(message);
    }
    expect(statSync(taken).size).toBe('something precious'.length);
  });
});
