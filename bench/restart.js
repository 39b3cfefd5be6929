// Restart time of a server that remembers: fills a fresh store with `--users` accounts, each with
// an always-on user in `--per-user` channels, and `--registered` ChanServ registrations (channel k
// founded by user k, who is in it; each with a topic, +nt, 5 bans, and a +o and a +v access entry
// for two of its members) among `--plain` unregistered channels, so every channel of the store has
// always-on members. Then starts the daemon (dist/) on it as a child process, and on an empty store
// (Node.js and module loading, which every start pays), alternately, `--runs` times each, and times
// spawn → the listener accepting a connection → a client's 001. Prints the medians, what restoring
// cost (the difference), the daemon's own restore time (its log line `always-on users restored`),
// its RSS at the 001, and the machine's load average before and after.
// With `--join`, the client then JOINs every registered channel (20 a line) and the time to the
// last 366 is printed too (on the empty store the same names are new channels): with `--users 0`
// nobody holds the registered channels in memory, and each comes back from the store on that JOIN.
//   node bench/restart.js [--users 10000] [--registered 1000] [--plain 1000] [--per-user 3] [--runs 5] [--join] [--dist dist]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from './lib/args.js';
import { freePort } from './lib/proc.js';

const args = parseArgs(process.argv.slice(2));
const users = Number(args.users ?? 10000);
const registered = Number(args.registered ?? 1000);
const plain = Number(args.plain ?? 1000);
const perUser = Number(args.perUser ?? 3);
const runs = Number(args.runs ?? 5);
const joinAll = args.join === true;
const dist = resolve(args.dist ?? 'dist');
const base = pathToFileURL(dist).href;
const { openStore } = await import(`${base}/src/store/db.js`);
const { AccountStore } = await import(`${base}/src/store/accounts.js`);
const { AlwaysOnStore } = await import(`${base}/src/store/alwayson.js`);
const { ChannelRegistry } = await import(`${base}/src/store/channels.js`);
const { makeCredentials } = await import(`${base}/src/auth/scram.js`);
const { caseFolder } = await import(`${base}/src/protocol/casemap.js`);

const dir = mkdtempSync(join(tmpdir(), 'ircd-restart-bench-'));

/** Channel k of the store: the registered ones first. */
const channelName = (k) => (k < registered ? `#reg${k}` : `#chan${k - registered}`);

/** The channels of user i: its own registered channel first when it founds one, the rest spread over all. */
function channelsOf(i) {
  const total = registered + plain;
  const list = i < registered ? [channelName(i)] : [];
  for (let j = 0; list.length < Math.min(perUser, total); j++) {
    // A stride of 131 spreads the users; the shift each round through all channels ends the loop when total is a multiple of 131.
    const name = channelName((i * 7 + j * 131 + Math.floor(j / total)) % total);
    if (!list.includes(name)) list.push(name);
  }
  return list;
}

/**
 * A store file holding `n` always-on users and, when `full`, the registrations and their founders'
 * accounts (names and rfc1459 folding agree: all lower case).
 */
async function fill(path, n, full) {
  const db = openStore(path);
  const accounts = new AccountStore(db, caseFolder('rfc1459'));
  const alwaysOn = new AlwaysOnStore(db);
  const registry = new ChannelRegistry(db);
  const credentials = await makeCredentials('bench-password', 4096);
  const rows = [];
  const members = new Map();
  for (let i = 0; i < n; i++) {
    const channels = channelsOf(i);
    for (const c of channels) members.set(c, [...(members.get(c) ?? []), `user${i}`]);
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
      channels,
    });
  }
  const now = Date.now();
  const regs = full ? registered : 0;
  db.transaction(() => {
    for (let i = 0; i < Math.max(n, regs); i++) accounts.create(`user${i}`, credentials, undefined);
    for (let k = 0; k < regs; k++) {
      const name = channelName(k);
      const founder = `user${k}`;
      const bans = Array.from({ length: 5 }, (_, j) => ({ mask: `*!*@spam${j}.example${k}.net`, setBy: `${founder}!u@host`, setAt: 1 }));
      registry.register(name, {
        name,
        founder,
        registeredAt: now,
        topic: { text: `Welcome to channel ${k}: rules, links and the schedule of the week`, setBy: founder, setAt: 1 },
        flags: 'nt',
        key: undefined,
        limit: undefined,
        forward: undefined,
        lists: new Map([['b', bans]]),
      });
      const others = (members.get(name) ?? []).filter((a) => a !== founder);
      others.slice(0, 2).forEach((account, j) => registry.setAccess(name, { account, mode: j === 0 ? 'o' : 'v', setBy: founder, setAt: now }));
    }
  })();
  alwaysOn.write(rows, []);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** Connects once the daemon listens; resolves with the socket, or undefined while nothing listens. */
function tryConnect(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', () => resolve(undefined));
  });
}

/** Registers a client on the socket; `waitFor(re)` resolves at the next line matching `re` (PINGs are answered). */
function client(sock) {
  const waiters = [];
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\r\n')) !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (line.startsWith('PING ')) sock.write(`PONG ${line.slice(5)}\r\n`);
      for (const w of waiters.filter((w) => w.re.test(line))) waiters.splice(waiters.indexOf(w), 1), w.resolve();
    }
  });
  sock.once('close', () => waiters.splice(0).forEach((w) => w.reject(new Error(`closed before ${w.re}`))));
  const waitFor = (re) => new Promise((resolve, reject) => waiters.push({ re, resolve, reject }));
  sock.write('NICK benchclient\r\nUSER bench 0 * :bench\r\n');
  return waitFor;
}

/** Ms for the client to JOIN every registered channel's name, to the last 366. */
async function joinEvery(sock, waitFor) {
  const names = Array.from({ length: registered }, (_, k) => channelName(k));
  const joined = waitFor(new RegExp(`^\\S+ 366 benchclient ${names.at(-1)} `));
  const t0 = performance.now();
  for (let i = 0; i < names.length; i += 20) sock.write(`JOIN ${names.slice(i, i + 20).join(',')}\r\n`);
  await joined;
  return performance.now() - t0;
}

/** The daemon's resident set in MiB (Linux). */
function rssMb(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Spawns the daemon on `store`: ms to the listener accepting and to a client's 001, the daemon's own restore ms, and its RSS then. */
async function timeStart(store, expected) {
  const port = await freePort();
  const cfg = join(dir, `ircd-${port}.toml`);
  writeFileSync(
    cfg,
    [
      '[server]\nname = "bench.local"',
      `motd = ${JSON.stringify(join(dir, 'motd.txt'))}`,
      `[[listen]]\naddress = "127.0.0.1"\nport = ${port}`,
      // --join: one client joins every registered channel at once.
      '[[class]]\nname = "c"\nrecvq = 1048576\nsendq = 67108864\nflood = { burst = 100000, rate = 100000 }',
      `[limits]\nchannels_per_user = ${Math.max(50, registered)}`,
      '[[allow]]\nmask = "*"\nclass = "c"',
      // info: the restore's own line (nothing is logged per user at start).
      '[log]\nlevel = "info"',
      `[store]\npath = ${JSON.stringify(store)}`,
      `[always_on]\npolicy = "opt-out"\nmax_users = ${Math.max(users, 1)}`,
      '',
    ].join('\n'),
  );
  const started = performance.now();
  const child = spawn(process.execPath, [join(dist, 'src/main.js'), '--config', cfg], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.on('exit', r));
  let log = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => (log += d));
  try {
    let sock;
    while (!(sock = await tryConnect(port))) {
      if (child.exitCode !== null) throw new Error('the daemon exited before listening');
      await new Promise((r) => setTimeout(r, 2));
    }
    const listening = performance.now() - started;
    const waitFor = client(sock);
    await waitFor(/^\S+ 001 /);
    const welcomed = performance.now() - started;
    const rss = rssMb(child.pid);
    const joinMs = joinAll && registered > 0 ? await joinEvery(sock, waitFor) : NaN;
    sock.destroy();
    const restoredLine = log.split('\n').find((l) => l.includes('"always-on users restored"'));
    if (!restoredLine) throw new Error('the daemon logged no "always-on users restored" line');
    const restored = JSON.parse(restoredLine);
    if (restored.users !== expected) throw new Error(`the daemon restored ${restored.users} always-on users, not ${expected}`);
    return { listening, welcomed, restoreMs: restored.ms, rss, joinMs };
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => Math.round(x);

writeFileSync(join(dir, 'motd.txt'), 'bench\n');
const empty = join(dir, 'empty.db');
const full = join(dir, 'full.db');
const fillStart = performance.now();
await fill(empty, 0, false);
await fill(full, users, true);
const fillMs = performance.now() - fillStart;
const load = [loadavg()[0]];
const results = { empty: [], full: [] };
// Alternated, in turns of opposite order (empty first, then full first), so a drift in the
// machine's load weighs on both alike.
for (let i = 0; i < runs; i++) {
  const order = i % 2 === 0 ? ['empty', 'full'] : ['full', 'empty'];
  for (const which of order) results[which].push(which === 'empty' ? await timeStart(empty, 0) : await timeStart(full, users));
}
load.push(loadavg()[0]);
const summary = (rs) => ({
  listening_ms: ms(median(rs.map((r) => r.listening))),
  first_001_ms: ms(median(rs.map((r) => r.welcomed))),
  first_001_range_ms: [ms(Math.min(...rs.map((r) => r.welcomed))), ms(Math.max(...rs.map((r) => r.welcomed)))],
  restore_logged_ms: ms(median(rs.map((r) => r.restoreMs))),
  rss_mb: ms(median(rs.map((r) => r.rss))),
  ...(joinAll ? { join_registered_names_ms: ms(median(rs.map((r) => r.joinMs))) } : {}),
});
const withState = summary(results.full);
const without = summary(results.empty);
const memberships = Array.from({ length: users }, (_, i) => channelsOf(i).length).reduce((a, b) => a + b, 0);
console.log(
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      users,
      registered_channels: registered,
      plain_channels: plain,
      memberships,
      store_mb: Math.round(statSync(full).size / 1e5) / 10,
      fill_ms: ms(fillMs),
      runs,
      load_average_1m: load.map((l) => Math.round(l * 10) / 10),
      empty_store: without,
      with_state: withState,
      restore_cost_ms: { listening: withState.listening_ms - without.listening_ms, first_001: withState.first_001_ms - without.first_001_ms },
    },
    null,
    2,
  ),
);
rmSync(dir, { recursive: true, force: true });
