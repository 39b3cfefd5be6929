#!/usr/bin/env node
// Benchmark suite runner.
//
// By default it starts our daemon freshly for every suite entry
// (node dist/src/main.js --config bench/ircd-bench.toml), waits for its port,
// runs the entry's scenario as a child process, stops the daemon, and writes
// all JSON results to bench/results/<timestamp>.json. With --server-pid it
// measures an already-running server (e.g. InspIRCd) instead; with
// --server-cmd it starts any other server command the same way as ours.
// With --tls every client (and the server's listener) speaks TLS, with a
// self-signed certificate made for the run; with --vs a second server runs
// every entry too, alternated with the first, and the summary sets their
// figures side by side. Run `node bench/run.js --help` for the options.
import { spawn, execFileSync } from 'node:child_process';
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
  { name: 'connect-storm', scenario: 'connect', opts: { clients: 5000, rate: 2000, hold: 1 } },
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
  'restart', 'startTimeout', 'pause', 'history', 'help', 'tls', 'keyType', 'vs', 'vsTarget', 'vsLabel', 'repeat',
]);

/** Source addresses (127.0.0.x) of TLS entries unless --source-ips says otherwise. */
const TLS_SOURCE_IPS = 250;

// Certificates the run can make (openssl), for --key-type.
const KEY_TYPES = {
  p256: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
  rsa2048: ['-newkey', 'rsa:2048'],
  ed25519: ['-newkey', 'ed25519'],
};

const USAGE = `
node bench/run.js [options]            (npm run bench = build + this)

Server under test (default: start our daemon freshly for every entry):
  --config PATH          our daemon's config (default bench/ircd-bench.toml); run.js
                         starts it on a copy whose first [[listen]] is --target's port
  --target HOST:PORT     address the clients connect to (default 127.0.0.1:6667)
  --server-pid PID       measure an already-running server at --target instead
                         (e.g. InspIRCd); nothing is started or stopped
  --server-cmd "CMD"     start CMD (via sh -c 'exec CMD', no core dumps) instead of our daemon
  --no-restart           start the server once for the whole suite, not per entry
  --history memory|sqlite  our daemon's [history] backend; sqlite keeps it in a
                         store file bench/results/<timestamp>-history.db (the
                         config's [store] path is replaced), size reported at the end
  --tls full|resume|both clients connect over TLS (full handshakes, or offering the
                         last session ticket); both = every entry plaintext, then TLS.
                         The run makes a self-signed certificate (--key-type p256,
                         rsa2048 or ed25519; default p256); our daemon's listener
                         gets it, a --server-cmd/--vs server finds it in the
                         environment: BENCH_TLS_CERT, BENCH_TLS_KEY, and
                         BENCH_SSLPROFILE=bench when it should speak TLS
                         (bench/inspircd/inspircd.conf uses them)
  --vs "CMD"             a second server, started like --server-cmd: every entry runs
                         on both, alternated, and the summary compares them
  --vs-target HOST:PORT  where the second server listens (default 127.0.0.1:16667)
  --vs-label TEXT        its name in the summary (default: the command's first word)
  --repeat N             run every entry N times (alternated with --vs); medians
  --server-cpus LIST     pin the started server with taskset -c LIST (e.g. 0)
  --gen-cpus LIST        pin the generator processes with taskset -c LIST (e.g. 1)

Suite:
  --only a,b             run only these entries (names below, or a scenario kind that
                         is no entry's name: fanout, direct, mass-quit)
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
  const external = Boolean(args.serverPid);
  const restart = args.restart !== false;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(BENCH, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const outPath = resolve(args.out || join(resultsDir, `${stamp}.json`));
  const transports = transportsOf(args.tls);
  const repeat = Math.max(1, Number(args.repeat) || 1);
  if (args.vs && external) throw new Error('--vs starts the second server; measure two running servers with two runs');
  // A certificate for TLS runs, and for any other server command (its config may name the files).
  const needCert = transports.some((t) => t !== 'plain') || Boolean(args.serverCmd) || Boolean(args.vs);
  const tlsFiles = needCert ? makeCertificate(join(resultsDir, `${stamp}-tls`), String(args.keyType || 'p256')) : null;

  // The servers under test: ours (or --server-cmd / --server-pid) and optionally --vs.
  const servers = [];
  let historyDb = null;
  if (external) {
    servers.push({ name: args.label || 'server', target, desc: { mode: 'external', pid: Number(args.serverPid) } });
  } else if (args.serverCmd) {
    const argv = shell(args.serverCmd);
    servers.push({ name: args.label || commandName(args.serverCmd), target, argvFor: () => argv, desc: { mode: 'command', command: String(args.serverCmd) } });
  } else {
    let config = resolve(args.config || join(BENCH, 'ircd-bench.toml'));
    if (args.history) {
      historyDb = join(resultsDir, `${stamp}-history.db`);
      config = historyConfig(config, String(args.history), historyDb);
    }
    const mainJs = join(ROOT, 'dist', 'src', 'main.js');
    if (!existsSync(mainJs)) throw new Error(`${relative(ROOT, mainJs)} missing: run npm run build (npm run bench does)`);
    const configs = {};
    for (const t of transports) configs[t] = listenConfig(config, target.port, t === 'plain' ? null : tlsFiles);
    servers.push({
      name: args.label || 'ours', target, argvFor: (t) => [process.execPath, mainJs, '--config', configs[t]],
      desc: { mode: 'ours', command: `node dist/src/main.js --config ${relative(ROOT, config)}` },
    });
  }
  if (args.vs) {
    const argv = shell(args.vs);
    servers.push({
      name: args.vsLabel || commandName(args.vs), target: parseTarget(args.vsTarget || '127.0.0.1:16667'),
      argvFor: () => argv, desc: { mode: 'command', command: String(args.vs) },
    });
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
    target: `${target.host}:${target.port}`,
    server: servers[0].desc,
    vs: servers[1] ? { ...servers[1].desc, name: servers[1].name, target: `${servers[1].target.host}:${servers[1].target.port}` } : null,
    tls: args.tls ? { mode: String(args.tls), keyType: String(args.keyType || 'p256') } : null,
    machine: {
      cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30),
      kernel: os.release(), node: process.version, serverCpus: args.serverCpus ?? null, genCpus: args.genCpus ?? null,
    },
    argv: process.argv.slice(2),
    // Every run in order: { entry, transport, server, rep, result }.
    runs: [],
    // The first server's result per entry (per "entry/tls" with --tls both).
    results: {},
  };

  let running = null;
  const stop = async () => {
    if (running) await stopServer(running);
    running = null;
  };
  process.on('SIGINT', () => {
    if (running) running.child.kill('SIGTERM');
    process.exit(130);
  });

  const serverEnv = (transport) =>
    tlsFiles ? { ...process.env, BENCH_TLS_CERT: tlsFiles.cert, BENCH_TLS_KEY: tlsFiles.key, BENCH_SSLPROFILE: transport === 'plain' ? '' : 'bench' } : process.env;
  // One server for the whole suite (--no-restart): only with one server and one transport.
  const longLived = !restart && servers.length === 1 && transports.length === 1 && servers[0].argvFor;
  try {
    if (longLived) running = await startServer(servers[0].argvFor(transports[0]), target, args, join(resultsDir, `${stamp}-server.log`), serverEnv(transports[0]));
    let first = true;
    for (const e of entries) {
      for (const transport of transports) {
        for (let rep = 0; rep < repeat; rep++) {
          for (const [si, srv] of servers.entries()) {
            if (!first) await sleep((args.pause ?? 2) * 1000); // let TIME_WAIT/whowas settle a little
            first = false;
            const key = transports.length > 1 && transport !== 'plain' ? `${e.name}/tls` : e.name;
            if (srv.argvFor && !longLived) {
              const log = join(resultsDir, `${stamp}-${key.replace('/', '-')}${servers.length > 1 ? '-' + si : ''}${repeat > 1 ? '-' + rep : ''}-server.log`);
              running = await startServer(srv.argvFor(transport), srv.target, args, log, serverEnv(transport));
            }
            const pid = external ? Number(args.serverPid) : running ? running.pid : null;
            const opts = buildOpts(e, args, scenarioDefaults[e.scenario]);
            if (transport !== 'plain') {
              opts.tls = transport;
              // Our daemon lets one address have only 8 TLS handshakes under way (a guard against
              // half-open sockets): spread a storm's clients over addresses, as real ones are.
              if (args.sourceIps === undefined && args[`${e.name}.sourceIps`] === undefined) opts.sourceIps = TLS_SOURCE_IPS;
            }
            process.stdout.write(`\n### ${key} on ${srv.name}${repeat > 1 ? ` (run ${rep + 1}/${repeat})` : ''}\n`);
            const res = await runScenario(e.scenario, { ...opts, target: `${srv.target.host}:${srv.target.port}`, serverPid: pid }, args.genCpus);
            if (running && running.exited) res.serverExited = running.exited;
            report.runs.push({ entry: e.name, transport, server: srv.name, rep, result: res });
            if (si === 0 && rep === 0) report.results[key] = res;
            if (srv.argvFor && !longLived) await stop();
            writeFileSync(outPath, JSON.stringify(report, null, 2) + '\n'); // keep partial results
          }
        }
      }
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
  if (servers.length === 1 && repeat === 1) printTable(report);
  else printComparison(report, servers.map((s) => s.name));
  process.stdout.write(`\nresults: ${relative(process.cwd(), outPath)}\n`);
  return report.runs.some((r) => r.result.error) ? 1 : 0;
}

function transportsOf(tls) {
  if (tls === undefined || tls === false) return ['plain'];
  if (tls === true || tls === 'full') return ['full'];
  if (tls === 'resume') return ['resume'];
  if (tls === 'both') return ['plain', 'full'];
  throw new Error(`--tls ${tls}: full, resume or both`);
}

/**
 * Another server's command line, via sh. No core dumps: InspIRCd 3.15 with GnuTLS dumps one (about
 * 100 MB, in the working directory) when stopped with SIGTERM; its exit still shows in the results.
 */
function shell(cmd) {
  return ['sh', '-c', `ulimit -c 0; exec ${cmd}`];
}

function commandName(cmd) {
  return String(cmd).trim().split(/\s+/)[0].split('/').pop();
}

/** A self-signed certificate and its key, made with openssl for this run. */
function makeCertificate(dir, keyType) {
  const newkey = KEY_TYPES[keyType];
  if (!newkey) throw new Error(`--key-type ${keyType}: ${Object.keys(KEY_TYPES).join(', ')}`);
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=bench.local'], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`making the run's certificate with openssl failed (is openssl installed?): ${err.message}`);
  }
  return { cert, key };
}

/**
 * A copy of our config (beside it, so relative paths hold) whose first [[listen]] block listens
 * on `port`, with the run's certificate when `tls` is given; removed when the runner exits.
 */
function listenConfig(config, port, tls) {
  const text = readFileSync(config, 'utf8');
  const m = /^\[\[listen\]\][^[]*?^port = \d+$/m.exec(text);
  if (!m) throw new Error(`${config}: no [[listen]] block with a port line`);
  if (tls && /^tls = /m.test(m[0])) throw new Error(`${config}: its first [[listen]] has tls already`);
  let block = m[0].replace(/^port = \d+$/m, `port = ${port}`);
  if (tls) block += `\ntls = { cert = ${JSON.stringify(tls.cert)}, key = ${JSON.stringify(tls.key)} }`;
  const copy = join(dirname(config), `.listen-${tls ? 'tls' : 'plain'}-${process.pid}.toml`);
  writeFileSync(copy, text.slice(0, m.index) + block + text.slice(m.index + m[0].length));
  process.on('exit', () => rmSync(copy, { force: true }));
  return copy;
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
  // An entry's name selects that entry; a scenario kind that is no entry's name selects all of its kind.
  const names = new Set(SUITE.map((e) => e.name));
  const sel = SUITE.filter((e) => want.includes(e.name) || want.some((w) => w === e.scenario && !names.has(w)));
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

async function startServer(argv, target, args, logPath, env) {
  if (await canConnect(target)) {
    throw new Error(`something already listens on ${target.host}:${target.port}; ` +
        'stop it, or measure it with --server-pid PID');
  }
  const cmd = args.serverCpus !== undefined ? 'taskset' : argv[0];
  const cmdArgs = args.serverCpus !== undefined ? ['-c', String(args.serverCpus), ...argv] : argv.slice(1);
  const fd = openSync(logPath, 'a');
  const child = spawn(cmd, cmdArgs, { cwd: ROOT, stdio: ['ignore', fd, fd], env });
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
      const hs = r.handshakeMs ? `  handshake p50 ${r.handshakeMs.p50} p99 ${r.handshakeMs.p99} ms` : '';
      rows.push(`${name.padEnd(14)} ready ${r.ready}/${r.params.clients} failed ${r.failed}  reg p50 ${r.registrationMs.p50} ` +
          `p99 ${r.registrationMs.p99} max ${r.registrationMs.max} ms${hs}  RSS/client ${r.server.rssGrowthPerClientKb ?? '?'} KiB  ` +
          `server CPU/client ${r.serverCpuMsPerClient ?? '?'} ms  ramp ${cpu}`);
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

// The figures compared per scenario: [label, value of a result, true when higher is better].
const FIGURES = {
  connect: [
    ['RSS per idle client KiB', (r) => r.server.rssGrowthPerClientKb, false],
    ['server CPU per connection + registration ms', (r) => r.serverCpuMsPerClient, false],
    ['TLS handshake p50 ms', (r) => r.handshakeMs?.p50, false],
    ['TLS handshake p99 ms', (r) => r.handshakeMs?.p99, false],
    ['registration p99 ms', (r) => r.registrationMs.p99, false],
    ['failed', (r) => r.failed, false],
  ],
  fanout: [
    ['lines/s delivered', (r) => r.deliveredPerSec, true],
    ['latency p99 ms', (r) => r.latencyMs.p99, false],
    ['lost + undelivered', (r) => r.lost + r.undelivered, false],
  ],
  direct: [
    ['round trips/s', (r) => r.roundTripsPerSec, true],
    ['round trip p99 ms', (r) => r.rttMs.p99, false],
  ],
  'mass-quit': [
    ['longest PONG gap ms', (r) => r.longestStallMs, false],
    ['bystander PING p99 ms', (r) => r.pingMs.p99, false],
    ['server CPU s for the quits', (r) => r.quit?.serverCpuS, false],
  ],
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Every entry's figures per server: the median of the runs, their range, and the first server's ratio to the second. */
function printComparison(report, names) {
  const fmt = (v) => (Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 1000) / 1000));
  const cell = (xs) => (xs.length === 0 ? 'n/a' : xs.length === 1 ? fmt(xs[0]) : `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`);
  const lines = [`| entry | figure | ${names.join(' | ')}${names.length > 1 ? ' | ratio' : ''} |`, `|${' --- |'.repeat(names.length + 2 + (names.length > 1 ? 1 : 0))}`];
  const groups = new Map();
  for (const run of report.runs) {
    const key = `${run.entry}${run.transport === 'plain' ? '' : ' (' + (run.transport === 'full' ? 'TLS' : 'TLS resumed') + ')'}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(run);
  }
  for (const [key, runs] of groups) {
    const scenario = runs.find((r) => !r.result.error)?.result.scenario;
    const errors = runs.filter((r) => r.result.error);
    for (const r of errors) lines.push(`| ${key} | ERROR on ${r.server} | ${r.result.error} |`);
    for (const [label, get] of FIGURES[scenario] ?? []) {
      const per = names.map((n) =>
        runs.filter((r) => r.server === n && !r.result.error).map((r) => get(r.result)).filter((v) => typeof v === 'number'));
      if (per.every((xs) => xs.length === 0)) continue;
      let ratio = '';
      if (names.length > 1) {
        ratio = per[0].length && per[1].length && median(per[1]) !== 0 ? ` | ${(median(per[0]) / median(per[1])).toFixed(2)}×` : ' | ';
      }
      lines.push(`| ${key} | ${label} | ${per.map(cell).join(' | ')}${ratio} |`);
    }
  }
  process.stdout.write(`\n== comparison (medians of ${Math.max(...report.runs.map((r) => r.rep)) + 1} run(s), range in brackets)\n` + lines.join('\n') + '\n');
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
