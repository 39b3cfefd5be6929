// How the cost of one JOIN and one QUIT grows with the size of the channel.
//
// The daemon runs in this process (from dist/, after `npm run build`) with members whose
// sockets discard what they are sent, so the figure is the server's own work per membership
// change: the JOIN/QUIT fan-out to every member and the NAMES reply to the joiner. For each
// channel size it times many JOIN+QUIT cycles of a fresh client and prints the time per event
// and per member; O(members) work shows as a flat per-member time as the channel grows.
//
//   node bench/join-scaling.js [--sizes 500,2000,10000] [--rounds 200]
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { validateConfig } from '../dist/src/config/load.js';
import { allModules } from '../dist/src/modules/index.js';
import { Connection } from '../dist/src/net/connection.js';
import { parseMessage } from '../dist/src/protocol/message.js';
import { Client } from '../dist/src/server/client.js';
import { Server } from '../dist/src/server/server.js';
import { parseArgs } from './lib/args.js';

const args = parseArgs(process.argv.slice(2));
const sizes = String(args.sizes ?? '500,2000,10000').split(',').map(Number);
const rounds = Number(args.rounds ?? 200);

/** A socket that accepts every write and never closes: the kernel's share is not measured. */
class NullSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 1;
  writableLength = 0;
  destroyed = false;
  setNoDelay() {}
  write() {
    return true;
  }
  end() {}
  destroy() {}
}

const config = validateConfig(
  {
    server: { name: 'bench.local', network: 'BenchNet', max_clients: 1000000 },
    listen: [{ address: '127.0.0.1', port: 0 }],
    limits: { channels_per_user: 10 },
    class: [{ name: 'c', max_per_ip: 1000000, sendq: 1 << 30, recvq: 1 << 20, flood: { burst: 100000, rate: 1000000 } }],
    allow: [{ mask: '*', class: 'c' }],
    store: { path: ':memory:' },
    log: { level: 'silent' },
  },
  'bench/join-scaling.js',
);

const server = new Server(config, 'bench/join-scaling.js', pino({ level: 'silent' }), allModules());
await server.start(); // modules open their state; the listener on port 0 stays unused
const klass = config.class[0];
let n = 0;

// Writes are batched per event-loop tick in the daemon; here each measured event ends with the flush.
const pending = new Set();
function flushAll() {
  for (const c of pending) c.flush();
  pending.clear();
}

function makeClient() {
  const conn = new Connection(new NullSocket(), server, klass, server.lineLimits(), (c) => pending.add(c));
  const client = new Client(conn, klass, () => server.name);
  server['clientOf'].set(conn, client);
  server.state.clients.add(client);
  const nick = `m${n++}`;
  for (const line of [`NICK ${nick}`, `USER u 0 * :bench`]) server.router.dispatch(server, client, parseMessage(line));
  return client;
}

function run(client, line) {
  server.router.dispatch(server, client, parseMessage(line));
}

const results = [];
let members = [];
for (const size of sizes) {
  while (members.length < size) {
    const c = makeClient();
    run(c, 'JOIN #big');
    flushAll();
    members.push(c);
  }
  // Warm up, then time JOIN and QUIT separately over fresh clients.
  let joinMs = 0;
  let quitMs = 0;
  for (let r = 0; r < rounds + 20; r++) {
    const c = makeClient();
    flushAll();
    const t0 = performance.now();
    run(c, 'JOIN #big');
    flushAll();
    const t1 = performance.now();
    server.disconnect(c, 'Quit: bench');
    flushAll();
    const t2 = performance.now();
    if (r >= 20) {
      joinMs += t1 - t0;
      quitMs += t2 - t1;
    }
  }
  const perJoinUs = (joinMs / rounds) * 1000;
  const perQuitUs = (quitMs / rounds) * 1000;
  const row = {
    members: size,
    joinUs: +perJoinUs.toFixed(1),
    joinNsPerMember: +((perJoinUs * 1000) / size).toFixed(1),
    quitUs: +perQuitUs.toFixed(1),
    quitNsPerMember: +((perQuitUs * 1000) / size).toFixed(1),
  };
  results.push(row);
  console.log(
    `${String(size).padStart(6)} members: JOIN ${row.joinUs} µs (${row.joinNsPerMember} ns/member)  QUIT ${row.quitUs} µs (${row.quitNsPerMember} ns/member)`,
  );
}
console.log(JSON.stringify({ scenario: 'join-scaling', rounds, results }));
process.exit(0);
