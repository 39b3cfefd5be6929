#!/usr/bin/env node
// What server links cost (issue #17, "Performance"). Two daemons (from a built dist/, `npm run
// build`) run as their own processes: A, a hub, and B, a leaf that links to A. This script is a
// third server, F, linked to A first: its burst gives A --users users in --channels channels
// (each user in --per-user channels, the first member of each channel an op, a topic and a ban
// in every tenth). Then:
//   (a) burst: B is started and links to A; A's burst of everything F gave it goes to B. Timed
//       from B's "connecting to server" log line to A's "server link burst received" (B's PONG to
//       A's end-of-burst PING, sent once B applied every line before it), and from A's "server
//       linked" (SVINFO in, the burst starts) to the same end. Target: < 2 s.
//   (b) one link crossed: a client on A sends --rate PRIVMSGs a second to a client on B for
//       --seconds; each carries its send time, the receiver times it. Target: p99 <= 5 ms at
//       1,000 a second.
//   (c) netsplit: F's socket closes; A loses F's --users users (split), B hears one SQUIT and
//       loses them too. --locals clients on each of A and B, each in --local-channels of the
//       channels, see the QUITs. The CPU each daemon spent (/proc) until both are quiet.
//       Target: < 1 s of CPU for the surviving server. A bystander client on each, PINGing every
//       2 ms, sees how long its server left it unanswered meanwhile. Target: <= 50 ms.
//
//   node bench/link.js [--users 10000] [--channels 2000] [--per-user 2] [--rate 1000] [--seconds 10]
//                      [--locals 50] [--local-channels 40] [--dist dist] [--keep]
//
// The script prints a table and one JSON line. --keep leaves the temporary folder (configs, logs).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from './lib/args.js';
import { monoUs, sleep } from './lib/clock.js';
import { freePort, procCpuS } from './lib/proc.js';
import { Histogram } from './lib/stats.js';

const args = parseArgs(process.argv.slice(2));
const USERS = Number(args.users ?? 10000);
const CHANNELS = Number(args.channels ?? 2000);
const PER_USER = Number(args.perUser ?? 2);
const RATE = Number(args.rate ?? 1000);
const SECONDS = Number(args.seconds ?? 10);
const LOCALS = Number(args.locals ?? 50);
const LOCAL_CHANNELS = Number(args.localChannels ?? 40);
const dist = resolve(args.dist ?? 'dist');
const PASSWORD = 'bench-link-pass';

const { hashPassword } = await import(pathToFileURL(join(dist, 'src/auth/password.js')).href);
const HASH = hashPassword(PASSWORD);
const dir = mkdtempSync(join(tmpdir(), 'ircd-link-bench-'));

// ---- daemons -------------------------------------------------------------------------------

function config({ name, sid, port, serverPort, links }) {
  const oper = `[[oper_class]]
name = "routing"
privileges = ["routing"]

[[oper]]
name = "bench"
password = "${HASH}"
hosts = ["*@127.0.0.1"]
class = "routing"
`;
  const blocks = links
    .map(
      (l) => `[[link]]
name = "${l.name}"
address = "127.0.0.1"
port = ${l.port ?? 1}
send_password = "${PASSWORD}"
accept_password = "${HASH}"
autoconnect = ${l.autoconnect ?? false}
retry = 1
hub = ${l.hub ?? false}
class = "bench"
`,
    )
    .join('\n');
  return `[server]
name = "${name}"
network = "BenchNet"
sid = "${sid}"
max_clients = 100000

[[listen]]
address = "127.0.0.1"
port = ${port}

[[listen]]
address = "127.0.0.1"
port = ${serverPort}
servers = true

[limits]
channels_per_user = 100

[[class]]
name = "bench"
sendq = 67108864
recvq = 1048576
ping_interval = 600
ping_timeout = 600
max_per_ip = 100000
flood = { burst = 100000, rate = 1000000 }
connect_rate = { count = 1000000, seconds = 1 }

[[allow]]
mask = "127.0.0.0/8"
class = "bench"

${blocks}
${oper}
[log]
level = "info"
destination = ${JSON.stringify(join(dir, `${name}.log`))}

[store]
path = ":memory:"
`;
}

async function startDaemon(spec) {
  const path = join(dir, `${spec.name}.toml`);
  writeFileSync(path, config(spec));
  const child = spawn(process.execPath, [join(dist, 'src/main.js'), '--config', path], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    if (await canConnect(spec.port)) return { ...spec, child, pid: child.pid };
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`${spec.name} did not start`);
}

function canConnect(port) {
  return new Promise((done) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      done(true);
    });
    s.on('error', () => done(false));
  });
}

/** The first log line of `daemon` with this msg (and link), as { time } in epoch ms. */
function logLine(daemon, msg, link) {
  let text = '';
  try {
    text = readFileSync(join(dir, `${daemon.name}.log`), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    const entry = JSON.parse(line);
    if (link === undefined || entry.link === link) return entry;
  }
  return undefined;
}

async function waitLog(daemon, msg, link, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const entry = logLine(daemon, msg, link);
    if (entry) return entry;
    if (Date.now() > deadline) throw new Error(`${daemon.name}: no "${msg}" in the log`);
    await sleep(20);
  }
}

// ---- sockets -------------------------------------------------------------------------------

/** A line socket: `onLine` for each line; `write` of many lines at once. */
function lineSocket(port, onLine) {
  return new Promise((resolveSocket, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolveSocket(s));
    s.setNoDelay(true);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        onLine(buf.slice(0, i).replace(/\r$/, ''), s);
        buf = buf.slice(i + 1);
      }
    });
    s.once('error', reject);
  });
}

/** A registered client; `onLine` sees every line after 001. */
async function ircClient(port, nick, onLine = () => {}) {
  let welcomed;
  const ready = new Promise((r) => (welcomed = r));
  let registered = false;
  const s = await lineSocket(port, (line, sock) => {
    if (line.startsWith('PING ')) return sock.write(`PONG ${line.slice(5)}\r\n`);
    if (!registered && / 001 /.test(line)) {
      registered = true;
      welcomed();
    }
    if (registered) onLine(line);
  });
  s.write(`NICK ${nick}\r\nUSER ${nick} 0 * :bench\r\n`);
  await ready;
  return s;
}

/** Sends PING and resolves at its PONG: everything sent before it was handled. */
function roundTrip(sock, waiters, token) {
  return new Promise((r) => {
    waiters.set(token, r);
    sock.write(`PING :${token}\r\n`);
  });
}

/**
 * A client that PINGs every 2 ms and times each PONG: how long the server it is on left it
 * unanswered (the longest gap between two PONGs, the slowest round trip) while something else ran.
 */
async function bystander(port, nick) {
  let last = 0;
  let longestGapMs = 0;
  let maxRttMs = 0;
  const s = await ircClient(port, nick, (line) => {
    const m = / PONG \S+ :?b(\d+(?:\.\d+)?)$/.exec(line);
    if (!m) return;
    const now = monoUs();
    maxRttMs = Math.max(maxRttMs, (now - Number(m[1])) / 1000);
    if (last) longestGapMs = Math.max(longestGapMs, (now - last) / 1000);
    last = now;
  });
  const timer = setInterval(() => s.write(`PING :b${monoUs().toFixed(1)}\r\n`), 2);
  return {
    stop() {
      clearInterval(timer);
      s.destroy();
      return { longestPongGapMs: round(longestGapMs), maxPingMs: round(maxRttMs) };
    },
  };
}

const round = (x) => Math.round(x * 1000) / 1000;
const uid = (sid, n) => `${sid}A${n.toString(36).toUpperCase().padStart(5, '0')}`;

// ---- the run -------------------------------------------------------------------------------

const [aPort, aServerPort, bPort, bServerPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
const a = await startDaemon({
  name: 'a.bench',
  sid: '1AA',
  port: aPort,
  serverPort: aServerPort,
  links: [{ name: 'b.bench', port: bServerPort }, { name: 'f.bench', hub: true }],
});
const bSpec = { name: 'b.bench', sid: '2BB', port: bPort, serverPort: bServerPort, links: [{ name: 'a.bench', hub: true }] };
let b;
const results = {};

try {
  // F links to A and bursts its users and channels.
  const fPongs = new Map();
  let svinfo;
  const handshakeDone = new Promise((r) => (svinfo = r));
  const f = await lineSocket(aServerPort, (line, sock) => {
    if (line.startsWith('SVINFO ')) svinfo();
    const m = /^(?::\S+ )?PING (\S+)(?: :?(\S+))?/.exec(line);
    if (m) sock.write(`:9FF PONG f.bench ${m[1]}\r\n`);
    const pong = / PONG \S+ :?(\S+)$/.exec(line);
    if (pong) fPongs.get(pong[1])?.();
  });
  f.on('close', () => {
    for (const done of fPongs.values()) done(new Error('A closed the feeding link (see its log)'));
  });
  const now = Math.floor(Date.now() / 1000);
  f.write(`PASS ${PASSWORD} TS 6 :9FF\r\nCAPAB :QS EX IE ENCAP EUID TB\r\nSERVER f.bench 1 :feeder\r\nSVINFO 6 6 0 :${now}\r\n`);
  const out = [];
  for (let i = 0; i < USERS; i++) out.push(`:9FF EUID u${i} 1 ${now - 1000} +i u${i} host${i % 250}.example 0 ${uid('9FF', i)} * * :Bench user ${i}`);
  const members = Array.from({ length: CHANNELS }, () => []);
  for (let i = 0; i < USERS; i++) for (let k = 0; k < PER_USER; k++) members[(i * 7 + k * 1009) % CHANNELS].push(uid('9FF', i));
  for (let c = 0; c < CHANNELS; c++) {
    const list = members[c];
    for (let j = 0; j < list.length; j += 30) out.push(`:9FF SJOIN ${now - 5000} #ch${c} +nt :${list.slice(j, j + 30).map((u, k) => (j + k === 0 ? '@' : '') + u).join(' ')}`);
    if (c % 10 === 0) {
      out.push(`:9FF TB #ch${c} ${now - 100} setter :topic of channel ${c}`);
      out.push(`:9FF BMASK ${now - 5000} #ch${c} b :*!*@banned${c}.example`);
    }
  }
  // As a TS6 server does, the burst goes once the peer's SVINFO is in.
  await handshakeDone;
  const failed = await new Promise((r) => {
    fPongs.set('fed', r);
    f.write(out.join('\r\n') + '\r\nPING :fed\r\n');
  });
  if (failed) throw failed;
  fPongs.clear();
  const fed = { users: USERS, channels: CHANNELS, lines: out.length };

  // Local clients on A: they see the netsplit's QUITs later.
  const aLocals = [];
  for (let i = 0; i < LOCALS; i++) {
    const s = await ircClient(aPort, `la${i}`);
    s.write(`JOIN ${Array.from({ length: LOCAL_CHANNELS }, (_, k) => `#ch${(i * 37 + k * 53) % CHANNELS}`).join(',')}\r\n`);
    aLocals.push(s);
  }

  // (a) B, started and idle, is linked by an operator's CONNECT on A, and takes A's burst.
  b = await startDaemon(bSpec);
  const oper = await ircClient(aPort, 'oper');
  oper.write(`OPER bench ${PASSWORD}\r\n`);
  await sleep(500);
  const cpu0 = { a: procCpuS(a.pid), b: procCpuS(b.pid) };
  const connectAt = Date.now();
  oper.write('CONNECT b.bench\r\n');
  const end = await waitLog(a, 'server link burst received', 'b.bench');
  const cpu1 = { a: procCpuS(a.pid), b: procCpuS(b.pid) };
  const linkedOnA = await waitLog(a, 'server linked', 'b.bench');
  results.burst = {
    users: USERS + LOCALS + 1,
    channels: CHANNELS,
    fromConnectMs: end.time - connectAt,
    fromLinkedMs: end.time - linkedOnA.time,
    senderCpuS: round(cpu1.a - cpu0.a),
    receiverCpuS: round(cpu1.b - cpu0.b),
    targetMs: 2000,
  };
  oper.destroy();

  // Local clients on B.
  const bLocals = [];
  for (let i = 0; i < LOCALS; i++) {
    const s = await ircClient(bPort, `lb${i}`);
    s.write(`JOIN ${Array.from({ length: LOCAL_CHANNELS }, (_, k) => `#ch${(i * 41 + k * 59) % CHANNELS}`).join(',')}\r\n`);
    bLocals.push(s);
  }

  // (b) A client on A writes to a client on B.
  const hist = new Histogram();
  let received = 0;
  const rPongs = new Map();
  const receiver = await ircClient(bPort, 'receiver', (line) => {
    const m = / PRIVMSG receiver :?t(\d+(?:\.\d+)?)$/.exec(line);
    if (m) {
      hist.record(monoUs() - Number(m[1]));
      received++;
    }
    const pong = / PONG \S+ :?(\S+)$/.exec(line);
    if (pong) rPongs.get(pong[1])?.();
  });
  const sender = await ircClient(aPort, 'sender');
  // The receiver is known on A once its EUID crossed: a message to it then finds it.
  for (let i = 0; i < 200; i++) {
    const pongs = new Map();
    let known = false;
    const probe = await ircClient(aPort, `probe${i}`, (line) => {
      if (/ 311 /.test(line)) known = true;
      const pong = / PONG \S+ :?(\S+)$/.exec(line);
      if (pong) pongs.get(pong[1])?.();
    });
    probe.write('WHOIS receiver\r\n');
    await roundTrip(probe, pongs, 'w');
    probe.destroy();
    if (known) break;
    await sleep(50);
  }
  const total = RATE * SECONDS;
  let sent = 0;
  const t0 = monoUs();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((monoUs() - t0) / 1e6) * RATE));
    let batch = '';
    for (; sent < due; sent++) batch += `PRIVMSG receiver :t${monoUs().toFixed(1)}\r\n`;
    if (batch) sender.write(batch);
    await sleep(1);
  }
  await roundTrip(receiver, rPongs, 'drain');
  for (let i = 0; i < 100 && received < total; i++) await sleep(20);
  const lat = hist.summaryMs();
  results.crossing = { offeredPerSec: RATE, seconds: SECONDS, sent, received, p50Ms: lat.p50, p99Ms: lat.p99, p999Ms: lat.p999, maxMs: lat.max, targetP99Ms: 5 };

  // (c) F goes: A splits USERS users, B hears the SQUIT and does the same.
  const watchA = await bystander(aPort, 'watcha');
  const watchB = await bystander(bPort, 'watchb');
  await sleep(500);
  const cpuBefore = { a: procCpuS(a.pid), b: procCpuS(b.pid) };
  const wall0 = monoUs();
  f.destroy();
  // The bystanders watch the first second (the split takes a few hundred ms); their PINGs cost
  // each daemon ~20 ms of CPU, counted in the figures below.
  await sleep(1000);
  const bystanders = { hub: watchA.stop(), leaf: watchB.stop() };
  // Quiet: neither daemon used CPU for 300 ms.
  let last = { ...cpuBefore };
  let quietFor = 0;
  while (quietFor < 300 && monoUs() - wall0 < 30e6) {
    await sleep(50);
    const nowCpu = { a: procCpuS(a.pid), b: procCpuS(b.pid) };
    quietFor = nowCpu.a === last.a && nowCpu.b === last.b ? quietFor + 50 : 0;
    last = nowCpu;
  }
  results.loadAverage = loadavg()[0];
  results.netsplit = {
    users: USERS,
    hubCpuS: round(last.a - cpuBefore.a),
    leafCpuS: round(last.b - cpuBefore.b),
    targetCpuS: 1,
    // A bystander on each server, PINGing every 2 ms through the split (target: no stall > 50 ms).
    hubBystander: bystanders.hub,
    leafBystander: bystanders.leaf,
  };
  for (const s of [...aLocals, ...bLocals, receiver, sender]) s.destroy();
  results.fed = fed;
} finally {
  a.child.kill('SIGTERM');
  b?.child.kill('SIGTERM');
  await sleep(300);
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
  else console.error(`configs and logs in ${dir}`);
}

const r = results;
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${loadavg()[0].toFixed(1)} at the end`);
console.log(`(a) burst of ${r.burst.users} users, ${r.burst.channels} channels: ${r.burst.fromConnectMs} ms from connect (${r.burst.fromLinkedMs} ms from SVINFO); CPU ${r.burst.senderCpuS} s on A (sending), ${r.burst.receiverCpuS} s on B (applying) — target < 2000 ms`);
console.log(`(b) ${r.crossing.received}/${r.crossing.sent} messages across one link at ${RATE}/s: p50 ${r.crossing.p50Ms} ms, p99 ${r.crossing.p99Ms} ms, p99.9 ${r.crossing.p999Ms} ms, max ${r.crossing.maxMs} ms — target p99 <= 5 ms`);
console.log(`(c) netsplit of ${r.netsplit.users} users: CPU ${r.netsplit.hubCpuS} s on A (the hub), ${r.netsplit.leafCpuS} s on B — target < 1 s; a bystander's longest wait: A ${r.netsplit.hubBystander.longestPongGapMs} ms between PONGs (slowest PING ${r.netsplit.hubBystander.maxPingMs} ms), B ${r.netsplit.leafBystander.longestPongGapMs} ms (${r.netsplit.leafBystander.maxPingMs} ms) — target <= 50 ms`);
console.log(JSON.stringify(results));
