#!/usr/bin/env node
// Benchmark suite runner.
//
// By default it starts our daemon freshly for every suite entry
// (node dist/src/main.js --config bench/ircd-bench.toml), waits for its port,
// runs the entry's scenario as a child process, stops the daemon, and writes
// all JSON results to bench/results/<timestamp>.json. With --server-pid it
// measures an already-running server (e.g. InspIRCd) instead; with
// --server-cmd it starts any other server command the same way as ours.
// Run `node bench/run.js --help` for the options.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve, relative } from 'node:path';
import net from 'node:net';
import os from 'node:os';
import { parseArgs, parseTarget } from './lib/args.js';
import { sleep } from './lib/clock.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');

// The default suite: each entry is one scenario run with these options.
const SUITE = [
  { name: 'connect', scenario: 'connect', opts: { clients: 10000, rate: 5000, hold: 10 } },
  { name: 'fanout-window', scenario: 'fanout', opts: { channels: 1, members: 200, senders: 10, window: 1 } },
  { name: 'fanout-rate', scenario: 'fanout', opts: { channels: 1, members: 200, senders: 10, rate: 4000 } },
  { name: 'fanout-wide', scenario: 'fanout', opts: { channels: 100, members: 50, senders: 1, rate: 10000 } },
  { name: 'direct', scenario: 'direct', opts: { pairs: 50 } },
  { name: 'mass-quit', scenario: 'mass-quit', opts: { clients: 5000, channels: 0 } },
  { name: 'mass-quit-chan', scenario: 'mass-quit', opts: { clients: 5000, channels: 1, channelSize: 100 } },
];
const SUITE_DEFAULTS = { duration: 10, warmup: 2 };

const RUNNER_KEYS = new Set([
  'config', 'target', 'serverPid', 'serverCmd', 'serverCpus', 'genCpus', 'only', 'label', 'out',
  'restart', 'startTimeout', 'pause', 'history', 'help',
]);

const USAGE = `
node bench/run.js [options]            (npm run bench = build + this)

Server under test (default: start our daemon freshly for every entry):
  --config PATH          our daemon's config (default bench/ircd-bench.toml)
  --target HOST:PORT     address the clients connect to (default 127.0.0.1:6667);
                         must match the port the config listens on
  --server-pid PID       measure an already-running server at --target instead
                         (e.g. InspIRCd); nothing is started or stopped
  --server-cmd "CMD"     start CMD (via sh -c 'exec CMD') instead of our daemon
  --no-restart           start the server once for the whole suite, not per entry
  --history memory|sqlite  our daemon's [history] backend; sqlite keeps it in a
                         store file bench/results/<timestamp>-history.db (the
                         config's [store] path is replaced), size reported at the end
  --server-cpus LIST     pin the started server with taskset -c LIST (e.g. 0)
  --gen-cpus LIST        pin the generator processes with taskset -c LIST (e.g. 1)

Suite:
  --only a,b             run only these entries (names below, or a scenario kind:
                         connect, fanout, direct)
  --duration S --warmup S --workers N --source-ips N ...
                         any scenario option without a dot applies to every
                         entry whose scenario has it
  --ENTRY.OPTION VALUE   override one entry, e.g. --fanout-rate.rate 8000
                         or --connect.clients 2000
  --label TEXT           stored in the results file
  --out FILE             results file (default bench/results/<timestamp>.json)

Entries: ${SUITE.map((e) => `${e.name} (${e.scenario} ${JSON.stringify(e.opts)})`).join('\n         ')}
`;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(USAGE.trim() + '\n');
    return 0;
  }
  const target = parseTarget(args.target || '127.0.0.1:6667');
  const targetStr = `${target.host}:${target.port}`;
  const external = Boolean(args.serverPid);
  const restart = args.restart !== false;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(BENCH, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const outPath = resolve(args.out || join(resultsDir, `${stamp}.json`));

  let serverArgv = null;
  let serverDesc;
  let historyDb = null;
  if (external) {
    serverDesc = { mode: 'external', pid: Number(args.serverPid) };
  } else if (args.serverCmd) {
    serverArgv = ['sh', '-c', `exec ${args.serverCmd}`];
    serverDesc = { mode: 'command', command: String(args.serverCmd) };
  } else {
    let config = resolve(args.config || join(BENCH, 'ircd-bench.toml'));
    if (args.history) {
      historyDb = join(resultsDir, `${stamp}-history.db`);
      config = historyConfig(config, String(args.history), historyDb);
    }
    const mainJs = join(ROOT, 'dist', 'src', 'main.js');
    if (!existsSync(mainJs)) throw new Error(`${relative(ROOT, mainJs)} missing: run npm run build (npm run bench does)`);
    serverArgv = [process.execPath, mainJs, '--config', config];
    serverDesc = { mode: 'ours', command: `node dist/src/main.js --config ${relative(ROOT, config)}` };
  }

  const entries = selectEntries(args.only);
  const scenarioDefaults = {};
  for (const e of entries) {
    if (!scenarioDefaults[e.scenario]) {
      scenarioDefaults[e.scenario] = (await import(`./scenarios/${e.scenario}.js`)).defaults;
    }
  }

  const report = {
    startedAt: new Date().toISOString(),
    label: args.label || null,
    target: targetStr,
    server: serverDesc,
    machine: {
      cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30),
      kernel: os.release(), node: process.version, serverCpus: args.serverCpus ?? null, genCpus: args.genCpus ?? null,
    },
    argv: process.argv.slice(2),
    results: {},
  };

  let server = null;
  const stop = async () => {
    if (server) await stopServer(server);
    server = null;
  };
  process.on('SIGINT', () => {
    if (server) server.child.kill('SIGTERM');
    process.exit(130);
  });

  try {
    if (serverArgv && !restart) server = await startServer(serverArgv, target, args, join(resultsDir, `${stamp}-server.log`));
    for (const [i, e] of entries.entries()) {
      if (i > 0) await sleep((args.pause ?? 2) * 1000); // let TIME_WAIT/whowas settle a little
      if (serverArgv && restart) {
        server = await startServer(serverArgv, target, args, join(resultsDir, `${stamp}-${e.name}-server.log`));
      }
      const pid = external ? Number(args.serverPid) : server ? server.pid : null;
      const opts = buildOpts(e, args, scenarioDefaults[e.scenario]);
      process.stdout.write(`\n### ${e.name}\n`);
      const res = await runScenario(e.scenario, { ...opts, target: targetStr, serverPid: pid }, args.genCpus);
      if (server && server.exited) res.serverExited = server.exited;
      report.results[e.name] = res;
      if (serverArgv && restart) await stop();
      writeFileSync(outPath, JSON.stringify(report, null, 2) + '\n'); // keep partial results
    }
  } finally {
    await stop();
  }
  report.finishedAt = new Date().toISOString();
  if (historyDb && existsSync(historyDb)) {
    report.historyDbBytes = statSync(historyDb).size;
    process.stdout.write(`\nhistory database: ${report.historyDbBytes} bytes\n`);
  }
  writeFileSync(outPath, JSON.stringify(report, null, 2) + '\n');
  printTable(report);
  process.stdout.write(`\nresults: ${relative(process.cwd(), outPath)}\n`);
  return Object.values(report.results).some((r) => r.error) ? 1 : 0;
}

/**
 * A copy of the config (beside it, so its relative paths still hold) with `[history] backend` set
 * and, for sqlite, the store in `db` (a fresh file); removed when the runner exits.
 */
function historyConfig(config, backend, db) {
  if (backend !== 'memory' && backend !== 'sqlite') throw new Error(`--history ${backend}: memory or sqlite`);
  let text = readFileSync(config, 'utf8');
  if (/^\[history\]/m.test(text)) throw new Error(`--history: ${config} has its own [history] section`);
  if (backend === 'sqlite') {
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    text = text.replace(/^(\[store\][^[]*?)^path = .*$/m, `$1path = ${JSON.stringify(db)}`);
  }
  const copy = join(dirname(config), `.${backend}-history-${process.pid}.toml`);
  writeFileSync(copy, `${text}\n[history]\nbackend = "${backend}"\n`);
  process.on('exit', () => rmSync(copy, { force: true }));
  return copy;
}

function selectEntries(only) {
  if (!only) return SUITE;
  const want = String(only).split(',').map((s) => s.trim()).filter(Boolean);
  const sel = SUITE.filter((e) => want.includes(e.name) || want.includes(e.scenario));
  if (sel.length === 0) throw new Error(`--only ${only}: no such entry (${SUITE.map((e) => e.name).join(', ')})`);
  return sel;
}

/** Entry options <- suite defaults <- global options the scenario knows <- --entry.option overrides. */
function buildOpts(entry, args, defaults) {
  const opts = {};
  for (const [k, v] of Object.entries(SUITE_DEFAULTS)) if (k in defaults) opts[k] = v;
  Object.assign(opts, entry.opts);
  for (const [k, v] of Object.entries(args)) {
    if (k === '_' || RUNNER_KEYS.has(k) || k.includes('.')) continue;
    if (k in defaults) opts[k] = v; // options other scenarios don't know are skipped
  }
  const prefix = entry.name + '.';
  for (const [k, v] of Object.entries(args)) {
    if (!k.startsWith(prefix)) continue;
    const opt = k.slice(prefix.length);
    if (!(opt in defaults)) throw new Error(`--${k}: ${entry.scenario} has no option ${opt}`);
    opts[opt] = v;
  }
  return opts;
}

function kebab(k) {
  return k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** Runs one scenario as a child process; echoes its summary and returns its final JSON line. */
function runScenario(scenario, opts, genCpus) {
  const argv = [join(BENCH, 'scenarios', `${scenario}.js`)];
  for (const [k, v] of Object.entries(opts)) {
    if (v === null || v === undefined) continue;
    argv.push(`--${kebab(k)}=${v}`);
  }
  const cmd = genCpus ? 'taskset' : process.execPath;
  const cmdArgs = genCpus ? ['-c', String(genCpus), process.execPath, ...argv] : argv;
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, cmdArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let last = null;
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      if (line.startsWith('{')) last = line;
      else process.stdout.write(line + '\n');
    });
    child.on('close', (code) => {
      let res;
      try {
        res = JSON.parse(last);
      } catch {
        res = { scenario, error: `scenario exited ${code} without a JSON result` };
      }
      resolvePromise(res);
    });
  });
}

async function startServer(argv, target, args, logPath) {
  if (await canConnect(target)) {
    throw new Error(`something already listens on ${target.host}:${target.port}; ` +
        'stop it, or measure it with --server-pid PID');
  }
  const cmd = args.serverCpus !== undefined ? 'taskset' : argv[0];
  const cmdArgs = args.serverCpus !== undefined ? ['-c', String(args.serverCpus), ...argv] : argv.slice(1);
  const fd = openSync(logPath, 'a');
  const child = spawn(cmd, cmdArgs, { cwd: ROOT, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const server = { child, pid: child.pid, exited: null, logPath };
  child.on('exit', (code, sig) => (server.exited = sig || `exit ${code}`));
  const deadline = Date.now() + (args.startTimeout ?? 20) * 1000;
  while (Date.now() < deadline) {
    if (server.exited) break;
    if (await canConnect(target)) {
      process.stdout.write(`\nserver pid ${server.pid} up on ${target.host}:${target.port} (log ${relative(process.cwd(), logPath)})\n`);
      return server;
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  let tail = '';
  try {
    tail = readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    // no log
  }
  throw new Error(`server did not accept connections on ${target.host}:${target.port}` +
      (server.exited ? ` (it exited: ${server.exited})` : '') + `\n${tail}`);
}

function stopServer(server) {
  return new Promise((resolvePromise) => {
    if (server.exited) return resolvePromise();
    const kill = setTimeout(() => server.child.kill('SIGKILL'), 5000);
    server.child.once('exit', () => {
      clearTimeout(kill);
      resolvePromise();
    });
    server.child.kill('SIGTERM');
  });
}

function canConnect({ host, port }) {
  return new Promise((resolvePromise) => {
    const s = net.connect({ host, port });
    const done = (ok) => {
      s.destroy();
      resolvePromise(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => {
      // A bare connect+close; send QUIT so the server logs a clean exit.
      s.end('QUIT\r\n');
      resolvePromise(true);
    });
    s.once('error', () => done(false));
  });
}

function printTable(report) {
  const rows = [];
  for (const [name, r] of Object.entries(report.results)) {
    if (r.error) {
      rows.push(`${name.padEnd(14)} ERROR ${r.error}`);
      continue;
    }
    const m = r.measured || r.ramp || {};
    const cpu = `gen ${m.generatorCpuS ?? '?'}s srv ${m.serverCpuS ?? '?'}s`;
    if (r.scenario === 'connect') {
      rows.push(`${name.padEnd(14)} ready ${r.ready}/${r.params.clients} failed ${r.failed}  reg p50 ${r.registrationMs.p50} ` +
          `p99 ${r.registrationMs.p99} max ${r.registrationMs.max} ms  RSS/client ${r.server.rssGrowthPerClientKb ?? '?'} KiB  ramp ${cpu}`);
    } else if (r.scenario === 'fanout') {
      rows.push(`${name.padEnd(14)} ${r.sentPerSec} msg/s -> ${r.deliveredPerSec} lines/s  p50 ${r.latencyMs.p50} ` +
          `p99 ${r.latencyMs.p99} p99.9 ${r.latencyMs.p999} ms  lost ${r.lost} undeliv ${r.undelivered} dup ${r.duplicates}  ${cpu}`);
    } else if (r.scenario === 'direct') {
      rows.push(`${name.padEnd(14)} ${r.roundTripsPerSec} rt/s  p50 ${r.rttMs.p50} p99 ${r.rttMs.p99} ms  ${cpu}`);
    } else if (r.scenario === 'mass-quit') {
      const q = r.quit || {};
      rows.push(`${name.padEnd(14)} ${r.left} left: bystander PING p99 ${r.pingMs.p99} max ${r.pingMs.max} ms, longest PONG gap ${r.longestStallMs} ms  ` +
          `gen ${q.generatorCpuS ?? '?'}s srv ${q.serverCpuS ?? '?'}s`);
    }
  }
  process.stdout.write(`\n== summary (${report.server.mode}${report.label ? ', ' + report.label : ''}, ${report.target})\n` +
      rows.join('\n') + '\n');
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
