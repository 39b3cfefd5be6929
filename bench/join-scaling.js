// How the cost of one JOIN and one QUIT grows with the size of the channel.
//
// The daemon runs in this process (from dist/, after `npm run build`) with members whose
// sockets discard what they are sent, so the figure is the server's own work per membership
// change: the JOIN/QUIT fan-out to every member and the NAMES reply to the joiner. For each
// channel size it times many JOIN+QUIT cycles of a fresh client and prints the time per event
// and per member; O(members) work shows as a flat per-member time as the channel grows.
//
//   node bench/join-scaling.js [--sizes 500,2000,10000] [--rounds 200]
import { performance } from 'node:perf_hooks';
import { parseMessage } from '../dist/src/protocol/message.js';
import { parseArgs } from './lib/args.js';
import { startInProcess } from './lib/inproc.js';

const args = parseArgs(process.argv.slice(2));
const sizes = String(args.sizes ?? '500,2000,10000').split(',').map(Number);
const rounds = Number(args.rounds ?? 200);

const daemon = await startInProcess('bench/join-scaling.js');
const { server, flushAll } = daemon;
const makeClient = () => daemon.register().client;

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
    server.disconnect(c, { kind: 'quit', text: 'Quit: bench' });
    server.finishDepartures(); // the daemon does this in its next turns
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
