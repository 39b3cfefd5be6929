// Restart time with always-on users: fills a fresh store with N accounts, each with an always-on
// user in `--per-user` of `--channels` channels, then starts the daemon (dist/) on it as a child
// process and times the start to its listener accepting a connection, against the same start on
// an empty store (Node.js and module loading, which every start pays). Prints the medians of
// `--runs` starts of each and the difference: what restoring the users costs.
//   node bench/restart.js [--users 10000] [--channels 1000] [--per-user 3] [--runs 3] [--dist dist]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from './lib/args.js';

const args = parseArgs(process.argv.slice(2));
const users = Number(args.users ?? 10000);
const channels = Number(args.channels ?? 1000);
const perUser = Number(args['per-user'] ?? 3);
const runs = Number(args.runs ?? 3);
const dist = resolve(args.dist ?? 'dist');
const base = pathToFileURL(dist).href;
const { openStore } = await import(`${base}/src/store/db.js`);
const { AccountStore } = await import(`${base}/src/store/accounts.js`);
const { AlwaysOnStore } = await import(`${base}/src/store/alwayson.js`);
const { makeCredentials } = await import(`${base}/src/auth/scram.js`);
const { caseFolder } = await import(`${base}/src/protocol/casemap.js`);

const dir = mkdtempSync(join(tmpdir(), 'ircd-restart-bench-'));

/** A store file holding `n` always-on users (accounts user0..), each in `perUser` channels. */
async function fill(path, n) {
  const db = openStore(path);
  const accounts = new AccountStore(db, caseFolder('rfc1459'));
  const alwaysOn = new AlwaysOnStore(db);
  const credentials = await makeCredentials('bench-password', 4096);
  db.transaction(() => {
    for (let i = 0; i < n; i++) accounts.create(`user${i}`, credentials, undefined);
  })();
  const rows = [];
  for (let i = 0; i < n; i++) {
    const list = [];
    for (let j = 0; j < perUser; j++) list.push(`#channel${(i * 7 + j * 131) % channels}`);
    rows.push({
      account: `user${i}`,
      nick: `user${i}`,
      user: `u${i}`,
      host: `user${i}.users.example.net`,
      real_host: `user${i}.users.example.net`,
      ip: '192.0.2.1',
      realname: `Bench User ${i}`,
      away: null,
      detached_at: Date.now(),
      channels: [...new Set(list)],
    });
  }
  alwaysOn.write(rows, []);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function accepts(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Milliseconds from spawning the daemon on `store` to its listener accepting a connection. */
async function timeStart(store) {
  const port = await freePort();
  const cfg = join(dir, `ircd-${port}.toml`);
  writeFileSync(
    cfg,
    [
      '[server]',
      'name = "bench.local"',
      `motd = "${join(dir, 'motd.txt')}"`,
      '[[listen]]',
      'address = "127.0.0.1"',
      `port = ${port}`,
      '[[class]]',
      'name = "c"',
      '[[allow]]',
      'mask = "*"',
      'class = "c"',
      '[log]',
      'level = "warn"',
      '[store]',
      `path = "${store}"`,
      '[always_on]',
      'policy = "opt-out"',
      `max_users = ${Math.max(users, 1)}`,
      '',
    ].join('\n'),
  );
  const started = performance.now();
  const child = spawn(process.execPath, [join(dist, 'src/main.js'), '--config', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((r) => child.on('exit', r));
  try {
    for (;;) {
      if (await accepts(port)) return performance.now() - started;
      if (child.exitCode !== null) throw new Error('the daemon exited before listening');
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

writeFileSync(join(dir, 'motd.txt'), 'bench\n');
const empty = join(dir, 'empty.db');
const full = join(dir, 'full.db');
const fillStart = performance.now();
await fill(empty, 0);
await fill(full, users);
const fillMs = performance.now() - fillStart;
const baseline = [];
const restored = [];
for (let i = 0; i < runs; i++) {
  baseline.push(await timeStart(empty));
  restored.push(await timeStart(full));
}
const result = {
  users,
  channels,
  memberships_per_user: perUser,
  fill_ms: Math.round(fillMs),
  start_empty_ms: Math.round(median(baseline)),
  start_with_users_ms: Math.round(median(restored)),
  restore_ms: Math.round(median(restored) - median(baseline)),
  runs,
};
console.log(JSON.stringify(result, null, 2));
rmSync(dir, { recursive: true, force: true });
