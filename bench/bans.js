#!/usr/bin/env node
// What server bans cost connections: the daemon (from a built dist/, `npm run build`) runs as its
// own process twice, on an empty store and on one pre-filled with --bans server bans (a third
// each K-, D- and X-lines, none matching the bench clients), and for each this prints
//   - server CPU per client that connects, registers (NICK/USER up to 001) and quits, over
//     --clients clients from 127.0.0.2, 16 at a time, after a warm-up of 200;
//   - connections per second one address (127.0.0.1, the shipped connect rate of 20 per 10 s)
//     gets answered when it floods for --flood-seconds with 32 sockets in a closed loop (each
//     sends QUIT at once and reconnects when the server closes), and the server's CPU meanwhile.
//     Below 100% of a core the generator (this process) is the limit, not the server.
//
//   node bench/bans.js [--bans 10000] [--clients 3000] [--flood-seconds 3] [--dist dist]
//
// The ban mix: D-lines are IPv4 /32s and /24s and IPv6 /64s and /128s; K-lines are half exact
// hosts, a quarter IPs and CIDR ranges, a quarter host globs; X-lines are half exact realnames,
// half globs. --dist runs another build (e.g. one made from an older commit) for comparison.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from './lib/args.js';
import { sleep } from './lib/clock.js';
import { freePort, procCpuS } from './lib/proc.js';

const args = parseArgs(process.argv.slice(2));
const banCount = Number(args.bans ?? 10000);
const clients = Number(args.clients ?? 3000);
const floodSeconds = Number(args.floodSeconds ?? 3);
const dist = resolve(args.dist ?? 'dist');
const WARMUP = 200;

/** `n` bans of mixed kinds and shapes; none covers 127.0.0.0/8, user "bench" or realname "bench client". */
function* benchBans(n) {
  const now = Date.now();
  const ban = (kind, mask) => ({ kind, mask, reason: 'bench', setBy: 'bench', setAt: now, expiresAt: undefined });
  const byte = (i, k) => (i >> (8 * k)) & 0xff;
  for (let i = 0; i < n; i++) {
    const j = Math.floor(i / 3);
    if (i % 3 === 0) {
      const shapes = [`10.${byte(j, 1)}.${byte(j, 0)}.${j % 251}`, `172.${16 + byte(j, 1)}.${byte(j, 0)}.0/24`, `2001:db8:${j.toString(16)}::/64`, `2001:db8:1::${j.toString(16)}`];
      yield ban('D', shapes[j % 4]);
    } else if (i % 3 === 1) {
      const shapes = [`*@host${j}.example.net`, `~spam${j}@dsl${j}.example.org`, `*@203.0.${byte(j, 1)}.${byte(j, 0)}`, `*@100.${64 + byte(j, 1)}.${byte(j, 0)}.0/24`, `*@*.isp${j}.example`, `bot${j}*@*.example.com`];
      yield ban('K', shapes[[0, 0, 1, 1, 2, 3, 4, 5][j % 8]]);
    } else {
      yield ban('X', j % 2 === 0 ? `spam bot ${j}` : `*spam${j}*`);
    }
  }
}

async function fillStore(path, n) {
  const base = pathToFileURL(dist).href;
  const { openStore } = await import(`${base}/src/store/db.js`);
  const { BanStore } = await import(`${base}/src/store/bans.js`);
  const db = openStore(path);
  const store = new BanStore(db);
  db.transaction(() => {
    for (const ban of benchBans(n)) store.add(ban);
  })();
  const size = store.size;
  db.close();
  return size;
}

function config(port, db) {
  return `[server]
name = "bench.local"
network = "BenchNet"
max_clients = 100000

[[listen]]
address = "127.0.0.1"
port = ${port}

# The flooding address keeps the shipped connect rate (20 per 10 s).
[[class]]
name = "flood"
max_per_ip = 100000

[[class]]
name = "bench"
max_per_ip = 100000
flood = { burst = 100000, rate = 1000000 }
connect_rate = { count = 1000000, seconds = 1 }

[[allow]]
mask = "127.0.0.1"
class = "flood"

[[allow]]
mask = "127.0.0.0/8"
class = "bench"

[log]
level = "warn"

[store]
path = ${JSON.stringify(db)}
`;
}

async function startDaemon(dir, bans) {
  const db = join(dir, 'bans.db');
  const stored = bans > 0 ? await fillStore(db, bans) : 0;
  const port = await freePort();
  const path = join(dir, 'ircd.toml');
  writeFileSync(path, config(port, db));
  const child = spawn(process.execPath, [join(dist, 'src/main.js'), '--config', path], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    if (await canConnect(port)) return { child, port, stored };
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error('the daemon did not start');
}

function canConnect(port) {
  return new Promise((done) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' });
    s.on('connect', () => {
      s.end('QUIT\r\n');
      done(true);
    });
    s.on('error', () => done(false));
  });
}

/** Connects, registers as `nick`, quits; resolves true once closed after 001. */
function registerOnce(port, nick) {
  return new Promise((done) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
    let welcomed = false;
    let buf = '';
    s.setEncoding('latin1');
    s.on('connect', () => s.write(`NICK ${nick}\r\nUSER bench 0 * :bench client\r\n`));
    s.on('data', (d) => {
      buf += d;
      if (!welcomed && / 001 /.test(buf)) {
        welcomed = true;
        s.write('QUIT\r\n');
      }
    });
    s.on('error', () => {});
    s.on('close', () => done(welcomed));
  });
}

async function registrations(port, from, count) {
  let next = from;
  let ok = 0;
  const worker = async () => {
    while (next < from + count) if (await registerOnce(port, `b${next++}`)) ok++;
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return ok;
}

/** Closed-loop flood from 127.0.0.1; resolves with the connections the server answered. */
async function flood(port, seconds) {
  const until = Date.now() + seconds * 1000;
  let answered = 0;
  const one = () =>
    new Promise((done) => {
      const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
      s.on('connect', () => s.write('QUIT\r\n'));
      s.on('data', () => {});
      s.on('error', () => {});
      s.on('close', () => {
        answered++;
        done();
      });
    });
  const loop = async () => {
    while (Date.now() < until) await one();
  };
  await Promise.all(Array.from({ length: 32 }, loop));
  return answered;
}

async function measure(bans) {
  const dir = mkdtempSync(join(tmpdir(), 'ircd-bench-bans-'));
  const { child, port, stored } = await startDaemon(dir, bans);
  try {
    await registrations(port, 0, WARMUP);
    const cpu0 = procCpuS(child.pid);
    const ok = await registrations(port, WARMUP, clients);
    const regMs = ((procCpuS(child.pid) - cpu0) * 1000) / clients;
    if (ok !== clients) throw new Error(`only ${ok} of ${clients} clients registered`);

    const cpu1 = procCpuS(child.pid);
    const t0 = performance.now();
    const answered = await flood(port, floodSeconds);
    const wallS = (performance.now() - t0) / 1000;
    const floodCpuS = procCpuS(child.pid) - cpu1;
    return {
      bans: stored,
      registrationMs: +regMs.toFixed(3),
      floodPerSec: Math.round(answered / wallS),
      floodServerCpuPct: Math.round((floodCpuS / wallS) * 100),
      floodServerUsPerConnection: Math.round((floodCpuS * 1e6) / answered),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const bans of [0, banCount]) {
  const r = await measure(bans);
  results.push(r);
  console.log(
    `${String(r.bans).padStart(6)} bans: connect+register+quit ${r.registrationMs} ms server CPU per client;` +
      ` one address flooding: ${r.floodPerSec} connections/s answered, server CPU ${r.floodServerCpuPct}% of a core` +
      ` (${r.floodServerUsPerConnection} µs per connection)`,
  );
}
console.log(JSON.stringify({ scenario: 'bans', dist, clients, floodSeconds, results }));
