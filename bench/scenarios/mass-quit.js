// Scenario "mass-quit": N clients register (optionally spread over channels of --channel-size
// members), then all of them leave at once: every generator process destroys its sockets (or,
// with --how quit, sends QUIT on every one) in one turn of its event loop. A bystander client in
// the coordinator process, in no channel, sends a PING every --ping-ms and times each PONG; the
// longest round trip and the longest gap between PONGs while the server works through the
// closes say how long its event loop stalled. Reported: the bystander's round trip p50/p99/max and
// longest PONG gap during the quit window, how long the server took until the bystander's PINGs
// were answered promptly again, and the server CPU the quits cost.
import net from 'node:net';
import tls from 'node:tls';
import { Conn, PoolHandler, tlsMode } from '../lib/client.js';
import { connectAll } from '../lib/ramp.js';
import { monoUs, sleep } from '../lib/clock.js';
import { Histogram } from '../lib/stats.js';
import { isMain, runCli } from '../lib/cli.js';
import { startRun, genSnap, resources, printHeader, printResources, fmtLat, fmtReasons, out } from '../lib/coordinator.js';

export const defaults = {
  target: '127.0.0.1:6667',
  serverPid: null,
  clients: 5000,
  rate: 2000, // connection attempts per second during setup
  channels: 0, // channels joined by each client
  channelSize: 100, // members per channel when channels > 0
  how: 'close', // close: destroy the sockets; quit: send QUIT on each
  pingMs: 2, // the bystander's PING interval
  baseline: 1, // seconds of bystander PINGs before the quits
  after: 4, // seconds of bystander PINGs after the quits were sent
  timeout: 60,
  workers: 1,
  sourceIps: 1,
  tls: null, // full: every client over TLS with a full handshake; resume: TLS offering the last session ticket
};

const usage = `
node bench/scenarios/mass-quit.js --target HOST:PORT [--server-pid PID]
    [--clients 5000] [--rate 2000] [--channels 0] [--channel-size 100] [--how close|quit]
    [--ping-ms 2] [--baseline 1] [--after 4] [--timeout 60] [--workers 1] [--source-ips 1] [--tls full|resume]
`;

export class Worker {
  constructor(index) {
    this.index = index;
    this.conns = [];
    this.handler = null;
  }

  async setup(a) {
    this.handler = new PoolHandler(a.channels, a.poolSize, '#q');
    for (let id = a.index; id < a.clients; id += a.workers) this.conns.push(new Conn(id, this.handler));
    const r = await connectAll(this.handler, this.conns, a);
    return { seconds: r.seconds, ready: this.handler.readyCount, failures: this.handler.failures.toJSON() };
  }

  /** Every open connection leaves in this one turn of the event loop. */
  async leave({ how }) {
    const t = monoUs();
    let n = 0;
    for (const c of this.conns) {
      if (c.state === 2) continue;
      n++;
      if (how === 'quit') {
        c.setBatched(false);
        c.quit('mass quit');
      } else {
        c.destroy();
      }
    }
    return { left: n, atUs: t };
  }

  /** Waits (bounded) until the server closed every connection, then destroys what is left. */
  async finish({ waitMs }) {
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && this.conns.some((c) => c.state !== 2)) await sleep(50);
    let forced = 0;
    for (const c of this.conns) {
      if (c.state !== 2) {
        forced++;
        c.destroy();
      }
    }
    return { forced };
  }
}

/** The bystander: PINGs on a fixed schedule, records every PONG's round trip and arrival time. */
class Bystander {
  constructor(host, port, pingMs, overTls) {
    this.overTls = overTls;
    this.host = host;
    this.port = port;
    this.pingMs = pingMs;
    this.sent = new Map(); // token -> monoUs when sent
    this.pongs = []; // [sentUs, arrivedUs]
    this.buf = '';
    this.timer = null;
    this.seq = 0;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const o = { host: this.host, port: this.port, noDelay: true, rejectUnauthorized: false };
      const s = this.overTls ? tls.connect(o) : net.connect(o);
      this.socket = s;
      s.setEncoding('latin1');
      s.on('error', reject);
      s.on('data', (chunk) => {
        const now = monoUs();
        this.buf += chunk;
        let i;
        while ((i = this.buf.indexOf('\n')) !== -1) {
          const line = this.buf.slice(0, i).replace(/\r$/, '');
          this.buf = this.buf.slice(i + 1);
          const parts = line.split(' ');
          const cmd = line.startsWith(':') ? parts[1] : parts[0];
          if (cmd === 'PING') s.write(`PONG ${parts.slice(line.startsWith(':') ? 2 : 1).join(' ')}\r\n`);
          else if (cmd === '001') resolve();
          else if (cmd === 'PONG') {
            const token = parts[parts.length - 1].replace(/^:/, '');
            const at = this.sent.get(token);
            if (at !== undefined) {
              this.sent.delete(token);
              this.pongs.push([at, now]);
            }
          }
        }
      });
      s.write(`NICK bystander\r\nUSER bystander 0 * :bystander\r\n`);
    });
  }

  start() {
    this.timer = setInterval(() => {
      const token = 'p' + (this.seq++).toString(36);
      this.sent.set(token, monoUs());
      this.socket.write(`PING ${token}\r\n`);
    }, this.pingMs);
  }

  stop() {
    clearInterval(this.timer);
    this.socket.destroy();
  }

  /** Round trips of the PINGs sent in [fromUs, toUs), the longest gap between their PONGs, and the lost ones. */
  window(fromUs, toUs) {
    const rtt = new Histogram();
    let lastArrival = fromUs;
    let maxGapUs = 0;
    let settledAtUs = fromUs; // arrival of the last PONG that took longer than 10 ms
    for (const [sent, arrived] of this.pongs) {
      if (sent < fromUs || sent >= toUs) continue;
      rtt.record(arrived - sent);
      maxGapUs = Math.max(maxGapUs, arrived - lastArrival);
      lastArrival = arrived;
      if (arrived - sent > 10_000) settledAtUs = arrived;
    }
    let lost = 0;
    for (const at of this.sent.values()) if (at >= fromUs && at < toUs) lost++;
    return { rtt, maxGapMs: Math.round(maxGapUs / 100) / 10, settledMs: Math.round((settledAtUs - fromUs) / 100) / 10, lost };
  }
}

export async function main(opts) {
  const n = opts.clients;
  const run = await startRun('mass-quit', opts, n);
  const { target, probe, pool, workers, sourceIps } = run;
  printHeader(`mass-quit: ${n} clients` + (opts.channels ? ` in ${opts.channels} channel(s) of ${opts.channelSize}` : ' in no channel') +
      ` leave at once (${opts.how})`, target, workers, sourceIps, probe.pid);
  const poolSize = opts.channels ? Math.max(opts.channels, Math.ceil((n * opts.channels) / opts.channelSize)) : 0;

  const setups = await pool.call('setup', (i) => ({
    index: i, workers, tls: opts.tls, clients: n, host: target.host, port: target.port,
    rate: opts.rate / workers, timeoutS: opts.timeout, sourceIps, channels: opts.channels, poolSize,
  }));
  let ready = 0;
  const failures = {};
  for (const s of setups) {
    ready += s.ready;
    for (const [k, v] of Object.entries(s.failures)) failures[k] = (failures[k] ?? 0) + v;
  }
  out(`   ready ${ready}/${n}  failed: ${fmtReasons(failures)}`);

  const bystander = new Bystander(target.host, target.port, opts.pingMs, Boolean(tlsMode(opts.tls)));
  await bystander.connect();
  bystander.start();
  await sleep(opts.baseline * 1000);

  const srv0 = probe.snap();
  const gen0 = await genSnap(pool);
  const t0 = monoUs();
  const leaves = await pool.call('leave', { how: opts.how });
  await sleep(opts.after * 1000);
  const t1 = monoUs();
  const srv1 = probe.snap();
  const gen1 = await genSnap(pool);
  bystander.stop();
  const finishes = await pool.call('finish', { waitMs: 5000 });
  await pool.close();

  const base = bystander.window(t0 - opts.baseline * 1e6, t0);
  const quit = bystander.window(t0, t1);
  const result = {
    scenario: 'mass-quit',
    target: `${target.host}:${target.port}`,
    params: { tls: opts.tls || null, clients: n, channels: opts.channels, channelSize: opts.channelSize, poolSize, how: opts.how, pingMs: opts.pingMs, workers, sourceIps },
    ready,
    failures,
    left: leaves.reduce((a, l) => a + l.left, 0),
    // Spread of the generator processes' leave turns: the quits were simultaneous within this.
    leaveSpreadMs: Math.round((Math.max(...leaves.map((l) => l.atUs)) - Math.min(...leaves.map((l) => l.atUs))) / 100) / 10,
    forcedCloses: finishes.reduce((a, f) => a + f.forced, 0),
    baselinePingMs: base.rtt.summaryMs(),
    pingMs: quit.rtt.summaryMs(),
    longestStallMs: quit.maxGapMs,
    settledMs: quit.settledMs,
    lostPings: quit.lost,
    quit: resources(gen0, gen1, srv0, srv1, (t1 - t0) / 1e6),
  };
  out(`   bystander PING before: ${fmtLat(result.baselinePingMs)}`);
  out(`   bystander PING during the quits: ${fmtLat(result.pingMs)}`);
  out(`   longest gap between PONGs ${result.longestStallMs} ms; slow PONGs (>10 ms) until ${result.settledMs} ms after the quits;` +
      ` ${result.lostPings} PINGs unanswered; ${result.forcedCloses} connections still open at the end`);
  printResources('quit window', result.quit);
  return result;
}

if (isMain(import.meta.url)) runCli('mass-quit', main, defaults, usage);
