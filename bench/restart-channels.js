// Restart time with registered channels (ChanServ): fills a store with N registered channels
// (default 1,000: 100 founder accounts, each channel with a topic, +ntk, 5 bans and 2 access
// entries), then starts the daemon (dist/src/main.js) on it and on the same store without
// registrations, and reports
//   - start: from spawning the process to a client's 001 (median of --runs),
//   - restore: one client JOINing every channel (the registered ones come back from the store on
//     that first JOIN), time to the last 366, against the same JOINs of unregistered channels.
//   node bench/restart-channels.js [--channels 1000] [--runs 3] [--dist dist]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from './lib/args.js';

const args = parseArgs(process.argv.slice(2));
const channels = Number(args.channels ?? 1000);
const runs = Number(args.runs ?? 3);
const dist = resolve(args.dist ?? 'dist');
const base = pathToFileURL(dist).href;
const { openStore } = await import(`${base}/src/store/db.js`);
const { AccountStore } = await import(`${base}/src/store/accounts.js`);
const { ChannelRegistry } = await import(`${base}/src/store/channels.js`);
const { makeCredentials } = await import(`${base}/src/auth/scram.js`);
const { caseFolder } = await import(`${base}/src/protocol/casemap.js`);

const dir = mkdtempSync(join(tmpdir(), 'restart-channels-'));

/** A store with 100 accounts and `n` registered channels named #reg<i>. */
async function makeStore(path, n) {
  const db = openStore(path);
  const accounts = new AccountStore(db, caseFolder('rfc1459'));
  const registry = new ChannelRegistry(db);
  const credentials = await makeCredentials('bench-password', 4096);
  db.transaction(() => {
    for (let i = 0; i < 100; i++) accounts.create(`founder${i}`, credentials, undefined);
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const bans = Array.from({ length: 5 }, (_, j) => ({ mask: `*!*@spam${j}.example${i}.net`, setBy: 'founder!f@host', setAt: 1 }));
      const folded = `#reg${i}`;
      registry.register(folded, {
        name: folded,
        founder: `founder${i % 100}`,
        registeredAt: now,
        topic: { text: `Welcome to channel ${i}: rules, links and the schedule of the week`, setBy: 'founder', setAt: 1 },
        flags: 'nt',
        key: undefined,
        limit: undefined,
        forward: undefined,
        lists: new Map([['b', bans]]),
      });
      for (let j = 1; j <= 2; j++) registry.setAccess(folded, { account: `founder${(i + j) % 100}`, mode: j === 1 ? 'o' : 'v', setBy: 'bench', setAt: now });
    }
  })();
  db.close();
}

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Connects (retrying until the daemon listens), registers, and resolves with a line reader once 001 came. */
async function connectClient(port) {
  for (;;) {
    const sock = await new Promise((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => res(s));
      s.once('error', () => res(undefined));
    });
    if (!sock) {
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    sock.setEncoding('utf8');
    let buf = '';
    const waiters = [];
    sock.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\r\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (line.startsWith('PING')) sock.write(`PONG ${line.slice(5)}\r\n`);
        for (const w of [...waiters]) if (w.test(line)) waiters.splice(waiters.indexOf(w), 1), w.done();
      }
    });
    const waitFor = (re) => new Promise((done) => waiters.push({ test: (l) => re.test(l), done }));
    const welcome = waitFor(/^\S+ 001 /);
    sock.write('NICK bench\r\nUSER bench 0 * :bench\r\n');
    await welcome;
    return { sock, waitFor };
  }
}

/** Starts the daemon on `store`; returns ms to 001 and ms to JOIN every channel named by `names`. */
async function measure(store, names) {
  const port = await freePort();
  const cfg = join(dir, 'ircd.toml');
  writeFileSync(
    cfg,
    [
      '[server]\nname = "bench.test"\nnetwork = "Bench"',
      `[[listen]]\naddress = "127.0.0.1"\nport = ${port}`,
      '[[class]]\nname = "c"\nrecvq = 1048576\nsendq = 67108864\nflood = { burst = 100000, rate = 100000 }',
      '[[allow]]\nmask = "*"\nclass = "c"',
      `[limits]\nchannels_per_user = ${Math.max(50, names.length)}`,
      '[log]\nlevel = "warn"',
      `[store]\npath = ${JSON.stringify(store)}`,
    ].join('\n\n'),
  );
  const started = performance.now();
  const child = spawn(process.execPath, [join(dist, 'src/main.js'), '--config', cfg], { stdio: 'ignore' });
  try {
    const { sock, waitFor } = await connectClient(port);
    const up = performance.now() - started;
    const last = names.at(-1);
    const joined = waitFor(new RegExp(`^\\S+ 366 bench ${last.replace(/[#]/g, '\\$&')} `));
    const t0 = performance.now();
    for (let i = 0; i < names.length; i += 20) sock.write(`JOIN ${names.slice(i, i + 20).join(',')}\r\n`);
    await joined;
    const joinMs = performance.now() - t0;
    sock.destroy();
    return { up, joinMs };
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const withChannels = join(dir, 'with.db');
const without = join(dir, 'without.db');
await makeStore(withChannels, channels);
await makeStore(without, 0);
const registered = Array.from({ length: channels }, (_, i) => `#reg${i}`);
const plain = Array.from({ length: channels }, (_, i) => `#plain${i}`);
const results = { with: [], without: [] };
for (let r = 0; r < runs; r++) {
  results.without.push(await measure(without, plain));
  results.with.push(await measure(withChannels, registered));
}
const line = (label, rs) =>
  `${label}: start to 001 ${median(rs.map((x) => x.up)).toFixed(0)} ms, JOIN of ${channels} channels ${median(rs.map((x) => x.joinMs)).toFixed(0)} ms`;
console.log(`${runs} runs, medians (node ${process.version})`);
console.log(line(`${channels} registered channels`, results.with));
console.log(line('no registered channel (unregistered JOINs)', results.without));
rmSync(dir, { recursive: true, force: true });
