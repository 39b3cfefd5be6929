#!/usr/bin/env node
// Chat history under attack: many clients storing messages with the largest tag section a client
// may send, to see what the daemon's memory and a bystander's latency do. --clients attackers from
// --addresses loopback addresses (127.0.1.x) each join a channel of their own and send PRIVMSGs
// there at --rate a second (the class flood rate: faster only fills the recvq), each with 4,094
// bytes of client-only tags and a 512-byte line. --tags picks the tag section: "escapes" is one
// value of \s escapes (unescaped, a string of 2,045 spaces), "many" is ~1,000 tiny tags, "mixed"
// alternates. A bystander on 127.0.0.2 sends a PING every second (within its flood rate); the
// daemon's RSS and CPU come from /proc/PID. Prints a JSON line every --interval seconds and a
// summary line at the end.
//
//   node bench/hostile-history.js --port 6667 --pid PID [--host 127.0.0.1] [--clients 500]
//        [--addresses 50] [--seconds 120] [--rate 2] [--tags mixed] [--interval 10]
//
// Run the daemon on the shipped config (config/ircd.toml: max_per_ip 10, connect_rate 20 per 10 s,
// flood 2/s, default [history]) with only its port and [store] path changed, so the defaults are
// what is measured: 500 clients on 50 addresses is what those limits let in. An attacker the
// server drops (Excess Flood when it falls behind) reconnects after a second.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from './lib/args.js';

const args = parseArgs(process.argv.slice(2));
const host = args.host ?? '127.0.0.1';
const port = args.port ?? 6667;
const clientCount = args.clients ?? 500;
const addresses = args.addresses ?? 50;
const seconds = args.seconds ?? 120;
const rate = args.rate ?? 2;
const tagMode = args.tags ?? 'mixed';
const intervalMs = (args.interval ?? 10) * 1000;
if (!args.pid) {
  process.stderr.write('hostile-history: --pid of the daemon is needed for its RSS\n');
  process.exit(2);
}

/** The most tag data a client may send: limits.tag_length (4096) less the "@" and the space. */
const TAG_DATA_BYTES = 4094;
const escapesTags = (n) => `+e=${n.toString(36)}${'\\s'.repeat((TAG_DATA_BYTES - 3 - n.toString(36).length) >> 1)}`;
function manyTags(n) {
  const tags = [`+n=${n.toString(36)}`];
  let bytes = tags[0].length;
  for (let i = 0; bytes + 1 + `+${i.toString(36)}`.length <= TAG_DATA_BYTES; i++) {
    tags.push(`+${i.toString(36)}`);
    bytes += 1 + tags[tags.length - 1].length;
  }
  return tags.join(';');
}
const tagsFor = (n) => (tagMode === 'escapes' || (tagMode === 'mixed' && n % 2 === 0) ? escapesTags(n) : manyTags(n));
/** A PRIVMSG whose non-tag part fills the 512-byte line with its CRLF. */
const lineFor = (channel, n) => {
  const head = `PRIVMSG ${channel} :${n} `;
  return `@${tagsFor(n)} ${head}${'x'.repeat(510 - head.length)}\r\n`;
};

const counters = { registered: 0, sent: 0, excessFlood: 0, otherCloses: 0, reconnects: 0 };

class Conn {
  constructor(nick, localAddress, onReady) {
    this.nick = nick;
    this.closed = false;
    this.buf = '';
    this.waiters = new Map();
    this.socket = connect({ host, port, localAddress });
    this.socket.setEncoding('utf8');
    this.socket.on('connect', () => this.write(`CAP LS 302\r\nCAP REQ :message-tags\r\nCAP END\r\nNICK ${nick}\r\nUSER hh 0 * :hostile history\r\n`));
    this.socket.on('data', (d) => this.onData(d, onReady));
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      this.onClose?.();
    });
  }

  write(text) {
    if (!this.closed) this.socket.write(text);
  }

  onData(chunk, onReady) {
    this.buf += chunk;
    let i;
    while ((i = this.buf.indexOf('\r\n')) !== -1) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const parts = line.split(' ');
      const cmd = line.startsWith(':') ? parts[1] : parts[0];
      if (cmd === 'PING') this.write(`PONG ${parts.slice(line.startsWith(':') ? 2 : 1).join(' ')}\r\n`);
      else if (cmd === '001') onReady(this);
      else if (cmd === 'PONG') {
        const token = line.slice(line.lastIndexOf(' ') + 1).replace(/^:/, '');
        this.waiters.get(token)?.();
        this.waiters.delete(token);
      } else if (cmd === 'ERROR') {
        if (line.includes('Excess Flood')) counters.excessFlood++;
        else counters.otherCloses++;
      }
    }
  }

  /** Round trip of a PING in ms, or undefined after 30 s. */
  ping(token) {
    const t0 = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(token);
        resolve(undefined);
      }, 30000);
      this.waiters.set(token, () => {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      });
      this.write(`PING ${token}\r\n`);
    });
  }
}

function rssMb() {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${args.pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : undefined;
}

/** The daemon's CPU time so far in seconds (user + system, from /proc/PID/stat; ticks of 10 ms). */
function cpuSeconds() {
  const fields = readFileSync(`/proc/${args.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const quantile = (xs, q) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] : undefined);
const round = (x) => (x === undefined ? undefined : Math.round(x * 10) / 10);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const started = Date.now();
  const rssBefore = rssMb();
  let seq = 0;
  const timers = new Set();
  let stopping = false;

  /** An attacker: registers, joins its channel, then sends one hostile PRIVMSG every 1/rate s. */
  const attacker = (index) => {
    const channel = `#hh${index}`;
    const conn = new Conn(`hh${index}x${(seq++).toString(36)}`, `127.0.1.${1 + (index % addresses)}`, (c) => {
      counters.registered++;
      c.write(`JOIN ${channel}\r\n`);
      const timer = setInterval(() => {
        c.write(lineFor(channel, counters.sent++));
      }, 1000 / rate);
      timers.add(timer);
      c.onClose = () => {
        clearInterval(timer);
        timers.delete(timer);
        if (stopping) return;
        counters.reconnects++;
        setTimeout(() => attacker(index), 1000);
      };
    });
  };
  for (let i = 0; i < clientCount; i++) {
    attacker(i);
    if (i % 50 === 49) await sleep(100);
  }

  let bystanderReady;
  const ready = new Promise((r) => (bystanderReady = r));
  const bystander = new Conn('bystander', '127.0.0.2', () => bystanderReady());
  await ready;
  let rtts = [];
  const allRtts = [];
  let timeouts = 0;
  let pingSeq = 0;
  const probe = setInterval(async () => {
    const rtt = await bystander.ping(`b${(pingSeq++).toString(36)}`);
    if (rtt === undefined) timeouts++;
    else {
      rtts.push(rtt);
      allRtts.push(rtt);
    }
  }, 1000);

  const rssSamples = [];
  const rssTimer = setInterval(() => rssSamples.push(rssMb()), 1000);
  const report = () => {
    const sample = {
      second: Math.round((Date.now() - started) / 1000),
      rssMb: rssMb(),
      cpuPercent: cpuPercent(),
      pingP50Ms: round(quantile(rtts, 0.5)),
      pingP99Ms: round(quantile(rtts, 0.99)),
      pingMaxMs: round(quantile(rtts, 1)),
      pingTimeouts: timeouts,
      ...counters,
    };
    rtts = [];
    process.stdout.write(JSON.stringify(sample) + '\n');
  };
  let cpuAt = { t: Date.now(), cpu: cpuSeconds() };
  const cpuPercent = () => {
    const now = { t: Date.now(), cpu: cpuSeconds() };
    const percent = Math.round(((now.cpu - cpuAt.cpu) / ((now.t - cpuAt.t) / 1000)) * 100);
    cpuAt = now;
    return percent;
  };
  const reportTimer = setInterval(report, intervalMs);
  await sleep(seconds * 1000);
  stopping = true;
  for (const t of [probe, rssTimer, reportTimer, ...timers]) clearInterval(t);
  report();
  const rss = rssSamples.filter((x) => x !== undefined);
  process.stdout.write(
    JSON.stringify({
      summary: true,
      date: new Date(started).toISOString(),
      params: { clients: clientCount, addresses, seconds, rate, tags: tagMode },
      rssMb: { before: rssBefore, max: Math.max(...rss), last: rss.at(-1) },
      bystanderPingMs: { p50: round(quantile(allRtts, 0.5)), p99: round(quantile(allRtts, 0.99)), max: round(quantile(allRtts, 1)) },
      pingTimeouts: timeouts,
      ...counters,
    }) + '\n',
  );
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`hostile-history: ${err.message}\n`);
  process.exit(1);
});
