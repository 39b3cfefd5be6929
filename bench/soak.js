#!/usr/bin/env node
// Soak test: a mixed, moderate workload against a started daemon for --minutes, reporting the
// daemon's memory, event-loop lag and error counts over time (one line per interval, then one
// final JSON line). Issue #9: "long runs as scripts with results in the README" (now docs/robustness.md).
//
//   node bench/soak.js --port 6667 [--host 127.0.0.1] [--minutes 30] [--interval 60]
//        [--clients 60] [--rate 40] [--metrics http://127.0.0.1:9667/metrics] [--pid PID]
//        [--oper name:password]
//
// Workload (each step picks one action, --rate steps per second in all): connect a client,
// JOIN/PART one of 20 channels, PRIVMSG a channel or a nick, NICK change, QUIT and reconnect;
// with --oper, every 5 s an oper sets a K-line on an unused mask and removes it again.
// Memory and lag come from /metrics (process_resident_memory_bytes, nodejs_eventloop_lag_seconds)
// when --metrics is given, else RSS from /proc/PID/status; a probe client measures PING round
// trips either way. Clients come from 127.0.0.1..127.0.0.8 so per-IP limits are not the subject.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from './lib/args.js';


const args = parseArgs(process.argv.slice(2));
const host = args.host ?? '127.0.0.1';
const port = args.port ?? 6667;
const minutes = args.minutes ?? 30;
const intervalMs = (args.interval ?? 60) * 1000;
const maxClients = args.clients ?? 60;
const rate = args.rate ?? 40;
const CHANNELS = Array.from({ length: 20 }, (_, i) => `#soak${i}`);

// Errors we count: anything that should not happen to a well-behaved client.
const errors = { connect: 0, unexpectedClose: 0, errorNumeric: 0, probeTimeout: 0, fail: 0 };
const counters = { connects: 0, quits: 0, messagesSent: 0, linesReceived: 0, nickChanges: 0, klines: 0 };
// Numerics a random workload legitimately provokes: nick in use, not on channel, no such nick.
const EXPECTED_NUMERICS = new Set(['433', '442', '401', '403', '404', '477']);

let seq = 0;
const uid = () => (++seq).toString(36);

class Conn {
  constructor(nick, localAddress) {
    this.nick = nick;
    this.registered = false;
    this.closedByUs = false;
    this.channels = new Set();
    this.buf = '';
    this.waiters = new Map();
    this.socket = connect({ host, port, localAddress });
    this.socket.setEncoding('utf8');
    this.socket.on('connect', () => {
      this.send(`NICK ${nick}`);
      this.send(`USER soak 0 * :soak client`);
    });
    this.socket.on('data', (d) => this.onData(d));
    this.socket.on('error', () => {
      if (!this.registered && !this.closedByUs) errors.connect++;
    });
    this.socket.on('close', () => {
      this.closed = true;
      if (!this.closedByUs && this.registered) errors.unexpectedClose++;
      clients.delete(this);
    });
  }

  send(line) {
    if (!this.closed) this.socket.write(line + '\r\n');
  }

  onData(chunk) {
    this.buf += chunk;
    let i;
    while ((i = this.buf.indexOf('\r\n')) !== -1) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      counters.linesReceived++;
      const parts = line.split(' ');
      const cmd = line.startsWith(':') ? parts[1] : parts[0];
      if (cmd === 'PING') this.send(`PONG ${parts.slice(line.startsWith(':') ? 2 : 1).join(' ')}`);
      else if (cmd === '001') {
        this.registered = true;
        counters.connects++;
      } else if (cmd === 'PONG') {
        const token = line.slice(line.lastIndexOf(' ') + 1).replace(/^:/, '');
        this.waiters.get(token)?.();
        this.waiters.delete(token);
      } else if (cmd === 'FAIL') errors.fail++;
      else if (/^[45]\d\d$/.test(cmd) && !EXPECTED_NUMERICS.has(cmd)) {
        errors.errorNumeric++;
        if (errors.errorNumeric <= 5) process.stderr.write(`unexpected: ${line}\n`);
      }
    }
  }

  /** Round-trip time of a PING in ms, or undefined after 10 s. */
  ping() {
    const token = `p${uid()}`;
    const t0 = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(token);
        resolve(undefined);
      }, 10000);
      this.waiters.set(token, () => {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      });
      this.send(`PING ${token}`);
    });
  }

  quit() {
    this.closedByUs = true;
    this.send('QUIT :soak');
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}

const clients = new Set();
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
let addrIndex = 0;
const newClient = () => clients.add(new Conn(`s${uid()}`, `127.0.0.${1 + (addrIndex++ % 8)}`));

function step() {
  const live = [...clients].filter((c) => c.registered && !c.closed);
  if (clients.size < maxClients && (live.length < 5 || Math.random() < 0.1)) return newClient();
  if (live.length === 0) return;
  const c = pick(live);
  const r = Math.random();
  if (r < 0.15) {
    const ch = pick(CHANNELS);
    c.send(`JOIN ${ch}`);
    c.channels.add(ch);
  } else if (r < 0.2 && c.channels.size) {
    const ch = pick([...c.channels]);
    c.send(`PART ${ch} :bye`);
    c.channels.delete(ch);
  } else if (r < 0.6 && c.channels.size) {
    c.send(`PRIVMSG ${pick([...c.channels])} :soak message ${uid()} ${'x'.repeat(Math.floor(Math.random() * 200))}`);
    counters.messagesSent++;
  } else if (r < 0.8) {
    c.send(`PRIVMSG ${pick(live).nick} :direct ${uid()}`);
    counters.messagesSent++;
  } else if (r < 0.9) {
    c.nick = `s${uid()}`;
    c.send(`NICK ${c.nick}`);
    counters.nickChanges++;
  } else if (r < 0.95) {
    c.quit();
    counters.quits++;
  } else {
    c.send(`TOPIC ${pick(CHANNELS)}`);
  }
}

async function scrapeMetrics() {
  if (!args.metrics) return {};
  try {
    const text = await (await fetch(args.metrics)).text();
    const value = (name) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    return {
      rssMb: value('process_resident_memory_bytes') / 1048576,
      lagMs: value('nodejs_eventloop_lag_seconds') * 1000,
      lagP99Ms: value('nodejs_eventloop_lag_p99_seconds') * 1000,
      heapMb: value('nodejs_heap_size_used_bytes') / 1048576,
      clients: value('ircd_clients_registered'),
    };
  } catch {
    errors.metrics = (errors.metrics ?? 0) + 1;
    return {};
  }
}

function procRssMb() {
  if (!args.pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${args.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const quantile = (xs, q) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] : undefined);
const round = (x) => (x === undefined || Number.isNaN(x) ? undefined : Math.round(x * 10) / 10);

async function main() {
  const started = Date.now();
  const deadline = started + minutes * 60000;
  const probe = new Conn('soakprobe', '127.0.0.9');
  let oper;
  if (args.oper) {
    oper = new Conn('soakoper', '127.0.0.10');
    const [name, password] = String(args.oper).split(':');
    setTimeout(() => oper.send(`OPER ${name} ${password}`), 1000);
  }
  const stepTimer = setInterval(step, 1000 / rate);
  let klineTimer;
  if (oper) {
    klineTimer = setInterval(() => {
      const mask = `*@soak-${uid()}.invalid`;
      oper.send(`KLINE 1h ${mask} :soak ban`);
      setTimeout(() => oper.send(`UNKLINE ${mask}`), 2000);
      counters.klines++;
    }, 5000);
  }
  let rtts = [];
  const probeTimer = setInterval(async () => {
    if (!probe.registered) return;
    const rtt = await probe.ping();
    if (rtt === undefined) errors.probeTimeout++;
    else rtts.push(rtt);
  }, 500);

  const samples = [];
  const report = async () => {
    const m = await scrapeMetrics();
    const sample = {
      minute: round((Date.now() - started) / 60000),
      rssMb: round(m.rssMb ?? procRssMb()),
      heapMb: round(m.heapMb),
      lagMs: round(m.lagMs),
      lagP99Ms: round(m.lagP99Ms),
      pingP50Ms: round(quantile(rtts, 0.5)),
      pingP99Ms: round(quantile(rtts, 0.99)),
      pingMaxMs: round(quantile(rtts, 1)),
      clients: m.clients ?? clients.size,
      ...counters,
      errors: { ...errors },
    };
    rtts = [];
    samples.push(sample);
    process.stdout.write(JSON.stringify(sample) + '\n');
  };
  const reportTimer = setInterval(report, intervalMs);
  await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
  clearInterval(stepTimer);
  clearInterval(klineTimer);
  clearInterval(probeTimer);
  clearInterval(reportTimer);
  await report();
  for (const c of clients) c.quit();
  const rss = samples.map((s) => s.rssMb).filter((x) => x !== undefined);
  const summary = {
    summary: true,
    date: new Date(started).toISOString(),
    params: { minutes, rate, clients: maxClients, intervalSeconds: intervalMs / 1000, oper: !!oper },
    rssMb: { first: rss[0], max: Math.max(...rss), last: rss.at(-1) },
    lagMsMax: Math.max(...samples.map((s) => s.lagMs ?? 0)),
    pingP99MsMax: Math.max(...samples.map((s) => s.pingP99Ms ?? 0)),
    counters,
    errors,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
  setTimeout(() => process.exit(0), 2500).unref();
}

main();
