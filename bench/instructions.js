// Instructions the server executes per event, counted by valgrind's callgrind: unlike timings on a
// shared VM (±40% run to run), the count repeats within a few percent, so it can judge a change
// of 5%. V8 runs single-threaded (--single-threaded) so that garbage collection and compilation
// are counted too, on the same thread. Each scenario runs twice, with W warm-up events and with W
// + N, and the difference divided by N is the cost of one event of warm code (start-up, set-up
// and JIT warm-up cancel out).
//
//   node bench/instructions.js [--events 40000] [--warmup 20000] [--only direct,fanout,registration] [--dist dist]
//
// Needs valgrind (Debian package valgrind). Slow: a few minutes per scenario.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.js';
import { startInProcess } from './lib/inproc.js';

const SCENARIOS = ['direct', 'fanout', 'registration'];
const payload = 'x'.repeat(60);

/** Runs `events` events of one scenario in this process (the child side). */
async function runScenario(scenario, events, dist) {
  const daemon = await startInProcess('bench/instructions.js', dist);
  if (scenario === 'direct') {
    const pairs = Array.from({ length: 50 }, () => [daemon.register(), daemon.register()]);
    for (let i = 0; i < events; i++) {
      const [a, b] = pairs[i % pairs.length];
      a.feed(`PRIVMSG ${b.nick} :${payload} ${i}\r\n`);
      daemon.flushAll();
    }
  } else if (scenario === 'fanout') {
    const members = Array.from({ length: 200 }, () => daemon.register());
    for (const m of members) m.feed('JOIN #fan\r\n');
    daemon.flushAll();
    for (let i = 0; i < events; i++) {
      members[i % 10].feed(`PRIVMSG #fan :${payload} ${i}\r\n`);
      daemon.flushAll();
    }
  } else {
    for (let i = 0; i < events; i++) {
      daemon.connect().feed(`NICK r${i}\r\nUSER u 0 * :bench\r\n`);
      daemon.flushAll();
    }
  }
  process.exit(0);
}

function count(scenario, events, dist, dir) {
  const out = join(dir, `${scenario}-${events}.out`);
  const self = fileURLToPath(import.meta.url);
  const run = spawnSync(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--single-threaded', self, '--child', scenario, '--events', String(events), '--dist', dist],
    { encoding: 'utf8' },
  );
  const m = /Collected : (\d+)/.exec(run.stderr);
  if (run.status !== 0 || !m) throw new Error(`valgrind run failed for ${scenario}:\n${run.stderr.slice(-2000)}`);
  return Number(m[1]);
}

const args = parseArgs(process.argv.slice(2));
const events = Number(args.events ?? 40000);
const warmup = Number(args.warmup ?? 20000);
const dist = args.dist ?? 'dist';
if (args.child) {
  await runScenario(args.child, events, dist);
} else {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('bench/instructions.js needs valgrind (apt-get install valgrind)');
    process.exit(2);
  }
  const only = args.only ? String(args.only).split(',') : SCENARIOS;
  const dir = mkdtempSync(join(tmpdir(), 'ircd-instr-'));
  const result = {};
  try {
    for (const scenario of only) {
      if (!SCENARIOS.includes(scenario)) throw new Error(`unknown scenario ${scenario} (${SCENARIOS.join(', ')})`);
      const base = count(scenario, warmup, dist, dir);
      const total = count(scenario, warmup + events, dist, dir);
      result[scenario] = Math.round((total - base) / events);
      console.log(`${scenario.padEnd(13)} ${result[scenario].toLocaleString('en')} instructions per event (${events} events)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ scenario: 'instructions', events, warmup, dist, perEvent: result }));
}
