// The server's own CPU cost per event, in process: a direct PRIVMSG, a PRIVMSG to a 200-member
// channel, and a registration (NICK/USER and the whole welcome burst). Lines go through the
// Connection's framing and the router exactly as socket data would; sockets discard what they
// are sent, so the kernel's share and Node's socket layer are not in these figures. Loopback runs
// (bench/run.js) measure everything; this one is steady enough to compare two builds:
//
//   node bench/handling.js [--rounds 20000] [--dist dist]   # --dist: another build's dist/
import { performance } from 'node:perf_hooks';
import { parseArgs } from './lib/args.js';
import { startInProcess } from './lib/inproc.js';

const args = parseArgs(process.argv.slice(2));
const rounds = Number(args.rounds ?? 20000);
const daemon = await startInProcess('bench/handling.js', args.dist ?? 'dist');
const { flushAll } = daemon;
const payload = 'x'.repeat(60);

/**
 * Time per call of `step` (µs): the fastest of 7 batches after a warm-up batch, since on a shared
 * machine noise only ever adds time.
 */
function measure(step) {
  const per = [];
  for (let b = 0; b < 8; b++) {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) step(i);
    const us = ((performance.now() - t0) * 1000) / rounds;
    if (b > 0) per.push(us);
  }
  return +Math.min(...per).toFixed(2);
}

const pairs = Array.from({ length: 50 }, () => [daemon.register(), daemon.register()]);
const direct = measure((i) => {
  const [a, b] = pairs[i % pairs.length];
  a.feed(`PRIVMSG ${b.nick} :${payload} ${i}\r\n`);
  flushAll();
});

const members = Array.from({ length: 200 }, () => daemon.register());
for (const m of members) m.feed('JOIN #fan\r\n');
flushAll();
const fanout = measure((i) => {
  members[i % 10].feed(`PRIVMSG #fan :${payload} ${i}\r\n`);
  flushAll();
});

const clients = [];
const registration = measure(() => {
  const c = daemon.connect();
  c.feed(`NICK r${clients.length}\r\nUSER u 0 * :bench\r\n`);
  flushAll();
  clients.push(c);
});

console.log(`direct PRIVMSG ${direct} µs   channel PRIVMSG to 200 members ${fanout} µs   registration ${registration} µs`);
console.log(JSON.stringify({ scenario: 'handling', rounds, directUs: direct, fanout200Us: fanout, registrationUs: registration }));
process.exit(0);
