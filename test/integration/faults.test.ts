// Faults around the daemon (issue #9): kill -9 right after durable writes, a damaged database,
// REHASH into a config the machine cannot honour, and running out of file descriptors.
// Most tests run dist/src/main.js as a real process (`npm run build` first).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonFiles, runIrcd, useDaemons } from '../support/daemon.js';
import { client, freePort, sleep, startServer, TestClient, testConfig, toToml, waitUntil, type RawConfig, type TestServer } from '../support/harness.js';
import { operConfig, operUp } from '../support/oper.js';
import { makeSelfSignedCert } from '../support/tls.js';

const daemons = useDaemons();
let srv: TestServer | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await srv?.stop();
  srv = undefined;
});

/** A temp folder holding a config for a daemon process (logging at info) on a free port. */
const processConfig = (patch: (dir: string) => RawConfig) => daemonFiles((dir) => ({ log: { level: 'info' }, ...patch(dir) }));

describe('crash safety', () => {
  it('keeps a K-line and an account written just before kill -9', async () => {
    const { config: cfg, port } = await processConfig((dir) => ({ ...operConfig(), store: { path: join(dir, 'ircd.db') } }));
    let daemon = daemons.spawn(cfg);
    const op = await daemons.connectWhenUp(port);
    await op.register('op');
    await operUp(op);
    const user = await daemons.connectWhenUp(port);
    await user.register('durable');
    op.send('KLINE *@evil.example :written before the crash');
    await op.waitFor((m) => m.command === 'NOTICE' && /Added .*K-Line for \[\*@evil\.example\]/.test(m.params[1]!));
    user.send('REGISTER * * sturdy-password');
    await user.waitFor((m) => m.command === 'REGISTER' && m.params[0] === 'SUCCESS');
    // No goodbye: the process dies the moment both writes were confirmed.
    expect((await daemon.kill('SIGKILL')).code).toBeNull();

    daemon = daemons.spawn(cfg);
    const op2 = await daemons.connectWhenUp(port);
    await op2.register('op');
    await operUp(op2);
    op2.send('STATS k');
    expect((await op2.waitFor('216')).params.join(' ')).toContain('evil.example');
    const login = await daemons.connectWhenUp(port);
    login.send('CAP REQ :sasl');
    login.send('AUTHENTICATE PLAIN');
    await login.waitFor('AUTHENTICATE');
    login.send(`AUTHENTICATE ${Buffer.from('\0durable\0sturdy-password').toString('base64')}`);
    expect((await login.waitFor('903')).params[1]).toMatch(/successful/);
  });

  it('refuses to start on a database that is garbage, naming the file and leaving it as it was', async () => {
    const { dir, config: cfg } = await processConfig((dir) => ({ store: { path: join(dir, 'garbage.db') } }));
    const garbage = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 256));
    writeFileSync(join(dir, 'garbage.db'), garbage);
    const run = runIrcd(['--config', cfg], { timeout: 10000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`cannot open the database ${join(dir, 'garbage.db')}`);
    expect(readFileSync(join(dir, 'garbage.db')).equals(garbage)).toBe(true);
  });

  it('refuses to start when the database path cannot be opened, naming it', async () => {
    const { dir, config: cfg } = await processConfig((dir) => ({ store: { path: join(dir, 'a-directory') } }));
    mkdirSync(join(dir, 'a-directory'));
    const run = runIrcd(['--config', cfg], { timeout: 10000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`cannot open the database ${join(dir, 'a-directory')}`);
  });
});

describe('store faults', () => {
  /** A config on a store this version made (every migration applied), then changed by `damage`. */
  async function damagedStore(damage: (db: Database.Database, path: string) => void): Promise<{ cfg: string; path: string }> {
    const { dir, config: cfg } = await processConfig((dir) => ({ store: { path: join(dir, 'ircd.db') } }));
    const path = join(dir, 'ircd.db');
    const maker = await startServer({ store: { path } });
    await maker.stop();
    const db = new Database(path);
    damage(db, path);
    db.close();
    return { cfg, path };
  }

  const startup = (cfg: string, prefix: string[] = []) => runIrcd(['--config', cfg], { prefix, timeout: 10000 });

  it.each([
    ['DROP TABLE accounts', 'table accounts (migration accounts-1)'],
    // server_bans is used as the bans module starts, before the check after every module's start.
    ['DROP TABLE server_bans; ALTER TABLE accounts DROP COLUMN email', 'column accounts.email (migration accounts-1), table server_bans (migration bans-1)'],
  ])('refuses to start on a store after %j, naming the file and what is missing', async (damage, missing) => {
    const { cfg, path } = await damagedStore((db) => db.exec(damage));
    const run = startup(cfg);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`ircd: the database ${path} is missing ${missing}; restore it from a backup`);
  });

  it('refuses to create an account from the command line in a store missing its columns', async () => {
    const { cfg, path } = await damagedStore((db) => db.exec('ALTER TABLE accounts DROP COLUMN email'));
    const run = runIrcd(['account', 'create', 'someone', '--config', cfg], { input: 'sesame123' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`the database ${path} is missing column accounts.email (migration accounts-1)`);
  });

  it('refuses a store a newer version migrated, naming the migration', async () => {
    const { cfg, path } = await damagedStore((db) => db.prepare('INSERT INTO migrations (name, applied_at) VALUES (?, ?)').run('accounts-2', Date.now()));
    const run = startup(cfg);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`ircd: the database ${path} was written by a newer version of ircd: it has the migration accounts-2, which this version does not know`);
  });

  it('refuses a store in a newer SQLite file format, leaving it as it was', async () => {
    const { cfg, path } = await damagedStore((db) => db.pragma('journal_mode = DELETE'));
    const bytes = readFileSync(path);
    bytes[18] = bytes[19] = 3;
    writeFileSync(path, bytes);
    const run = startup(cfg);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`cannot open the database ${path}: it was written in a newer SQLite file format (read version 3, write version 3)`);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('refuses a store that is not a SQLite file', async () => {
    const { dir, config: cfg } = await processConfig((dir) => ({ store: { path: join(dir, 'notes.txt') } }));
    writeFileSync(join(dir, 'notes.txt'), 'shopping list: milk, eggs, a bigger disk\n'.repeat(10));
    const run = startup(cfg);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`cannot open the database ${join(dir, 'notes.txt')}: it is not a SQLite database`);
  });

  it('refuses a store file it may not write, instead of failing at the first write', async () => {
    const { cfg, path } = await damagedStore(() => {});
    chmodSync(path, 0o444);
    // root writes anyway, so as root the daemon runs without the capabilities that override file
    // modes: still root, so it reads the checkout wherever CI put it, but the 0444 file is read-only.
    const asRoot = process.getuid?.() === 0;
    const run = startup(cfg, asRoot ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search'] : []);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`cannot open the database ${path}: the file is read-only for this process`);
  });
});

describe('config faults', () => {
  it('refuses to start when a TLS key is missing, naming the file', async () => {
    const { dir, config: cfg } = await processConfig((d) => ({
      listen: [{ address: '127.0.0.1', port: 0, tls: { cert: join(d, 'cert.pem'), key: join(d, 'missing-key.pem') } }],
      store: { path: ':memory:' },
    }));
    writeFileSync(join(dir, 'cert.pem'), readFileSync(makeSelfSignedCert('irc.test').cert));
    const run = runIrcd(['--config', cfg], { timeout: 10000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`cannot read the TLS key ${join(dir, 'missing-key.pem')}: no such file`);
  });
});

describe('config faults on REHASH', () => {
  let squatter: NetServer | undefined;
  afterEach(async () => {
    await new Promise((r) => (squatter ? squatter.close(r) : r(undefined)));
    squatter = undefined;
  });

  async function rehashFails(op: TestClient, patch: RawConfig): Promise<string> {
    writeFileSync(srv!.configPath, toToml(testConfig(operConfig(patch))));
    op.send('REHASH');
    const fails = (await op.collectUntilPong()).filter((m) => m.command === 'FAIL');
    expect(fails.length).toBeGreaterThan(0);
    return fails.map((m) => m.params.slice(0, 2).join(' ') + ' ' + m.params.at(-1)).join('\n');
  }

  it('keeps the running config and listeners when a new TLS key is missing or not the certificate\'s, or a new port is taken', async () => {
    srv = await startServer(operConfig());
    const op = await client(srv.port, 'op');
    clients.push(op);
    await operUp(op);
    const before = srv.server.config;
    const listenersBefore = [...srv.server.listeners.keys()];
    const plain = { address: '127.0.0.1', port: 0 }; // the running listener, unchanged

    const tls = makeSelfSignedCert('irc.test');
    const missingKey = join(srv.dir, 'no-such-key.pem');
    const tlsPort = await freePort();
    const noKey = await rehashFails(op, { listen: [plain, { address: '127.0.0.1', port: tlsPort, tls: { cert: tls.cert, key: missingKey } }] });
    expect(noKey).toBe(`REHASH CONFIG_INVALID cannot read the TLS key ${missingKey}: no such file`);
    const other = makeSelfSignedCert('other.test');
    const mismatched = await rehashFails(op, { listen: [plain, { address: '127.0.0.1', port: tlsPort, tls: { cert: tls.cert, key: other.key } }] });
    expect(mismatched.startsWith(`REHASH CONFIG_INVALID the TLS certificate ${tls.cert} and key ${other.key} do not load together: `)).toBe(true);
    expect(mismatched).toMatch(/key values mismatch$/);

    squatter = createServer();
    const takenPort = await freePort();
    await new Promise<void>((r) => squatter!.listen(takenPort, '127.0.0.1', () => r()));
    const taken = await rehashFails(op, { listen: [plain, { address: '127.0.0.1', port: takenPort }] });
    expect(taken).toContain(`cannot listen on 127.0.0.1:${takenPort}: the port is already in use by another program`);

    expect(srv.server.config).toBe(before);
    expect([...srv.server.listeners.keys()]).toEqual(listenersBefore);
    const newcomer = await client(srv.port, 'newcomer');
    clients.push(newcomer);
    await expect(TestClient.connect(tlsPort)).rejects.toThrow();
    expect(squatter.listening).toBe(true); // still the other program's port
  });
});

describe('resource exhaustion', () => {
  it('survives the file descriptor limit: the surplus is closed, not hung, and new clients get in once descriptors are free', async () => {
    const { config: cfg, port } = await processConfig(() => ({
      class: [{ name: 'default', max_per_ip: 1000, connect_rate: { count: 1000, seconds: 1 } }],
      store: { path: ':memory:' },
    }));
    const daemon = daemons.spawn(cfg);
    const first = await daemons.connectWhenUp(port);
    await first.register('first');
    // Node opens many files while loading, so the limit drops once the daemon runs: 20 spare.
    const pid = daemon.child.pid!;
    const limit = readdirSync(`/proc/${pid}/fd`).length + 20;
    expect(spawnSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]).status).toBe(0);

    // Far more sockets than the daemon has descriptors: the surplus fails in accept().
    const flood: TestClient[] = [];
    for (let i = 0; i < 60; i++) {
      try {
        flood.push(await TestClient.connect(port));
      } catch {
        // the kernel may refuse too once the backlog is full
      }
    }
    clients.push(...flood);
    // libuv accepts and closes what it has no descriptor for (its reserved-descriptor trick), so
    // those clients see the connection end at once instead of hanging in the backlog; when even
    // that fails, Node reports EMFILE and the listener's error handler logs it.
    expect(await waitUntil(() => flood.filter((c) => c.closed).length >= 30, 5000)).toBe(true);
    const opened = (daemon.output().match(/"msg":"connection opened"/g) ?? []).length;
    expect(opened).toBeLessThan(flood.length + 1);
    expect(daemon.output()).not.toMatch(/"level":60|uncaught|unhandled/);
    expect(daemon.child.exitCode).toBeNull();

    for (const c of flood) c.close();
    await sleep(500);
    const later = await daemons.connectWhenUp(port);
    await later.register('later');
    later.send('PRIVMSG first :back in business');
    expect((await first.waitFor('PRIVMSG')).params[1]).toBe('back in business');
    expect(daemon.child.exitCode).toBeNull();
  });
});
