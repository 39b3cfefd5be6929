// Scenario "direct": P pairs of clients (a, b) play PRIVMSG ping-pong with one
// message in flight per pair. a sends "PRIVMSG <b> :<seq> <tUs>", b echoes
// the text back to a unchanged, and a records the round trip (now - tUs on the
// machine-wide monotonic clock) and immediately sends the next. Reports round
// trips/s and RTT percentiles over the measured window (after a warm-up).
// Both ends of a pair live in the same generator process.
import { Conn, Handler } from '../lib/client.js';
import { readDecimals } from '../lib/payload.js';
import { connectAll, quitAll } from '../lib/ramp.js';
import { monoUs, sleepUntil, sleep } from '../lib/clock.js';
import { Histogram, Reasons } from '../lib/stats.js';
import { cpuMark, round3 } from '../lib/proc.js';
import { isMain, runCli } from '../lib/cli.js';
import {
  startRun, genSnap, windowGen, resources, printHeader, printResources, fmtLat, fmtReasons, out,
} from '../lib/coordinator.js';

export const defaults = {
  target: '127.0.0.1:6667',
  serverPid: null,
  pairs: 50,
  size: 0, // pad the payload text to about this many bytes
  warmup: 2,
  duration: 10,
  drain: 3,
  connectRate: 2000,
  timeout: 30,
  workers: 1,
  sourceIps: 1,
  tls: null, // full: every client over TLS with a full handshake; resume: TLS offering the last session ticket
};

const usage = `
node bench/scenarios/direct.js --target HOST:PORT [--server-pid PID]
    [--pairs 50] [--size 0] [--warmup 2] [--duration 10] [--drain 3]
    [--connect-rate 2000] [--workers 1] [--source-ips 1] [--tls full|resume]
`;

class Side {
  constructor(initiator) {
    this.initiator = initiator;
    this.peer = null; // the other Conn
    this.seq = 0; // initiator: next sequence number
    this.outstanding = false; // initiator: a ping is in flight
  }
}

class DirectHandler extends Handler {
  constructor() {
    super();
    this.rtt = new Histogram();
    this.warmEnd = Infinity;
    this.end = Infinity;
    this.sending = false;
    this.pad = '';
    this.fields = [0, 0]; // reused by readDecimals: seq, send time
    this.roundTrips = 0; // completed inside the measured window
    this.outOfOrder = 0;
    this.foreign = 0;
  }

  ping(conn) {
    const a = conn.app;
    conn.send(`PRIVMSG ${a.peer.nick} :${a.seq} ${Math.floor(monoUs())}${this.pad}\r\n`);
    a.outstanding = true;
  }

  onPrivmsg(conn, b, s, e, now) {
    const a = conn.app;
    if (!a.initiator) {
      // Echo the text back unchanged.
      conn.send(`PRIVMSG ${a.peer.nick} :${b.toString('latin1', s, e)}\r\n`);
      return;
    }
    const fields = this.fields;
    fields[1] = 0;
    readDecimals(b, s, e, fields);
    const seq = fields[0];
    const ts = fields[1];
    if (!(ts > 0)) {
      this.foreign++;
      return;
    }
    if (seq !== a.seq) this.outOfOrder++;
    a.seq = seq + 1;
    a.outstanding = false;
    if (now >= this.warmEnd && now < this.end) {
      this.roundTrips++;
      this.rtt.record(now - ts);
    }
    if (this.sending && conn.state === 1 && a.peer.state === 1) this.ping(conn);
  }
}

export class Worker {
  constructor(index) {
    this.index = index;
    this.conns = [];
    this.initiators = [];
    this.h = null;
  }

  async setup(a) {
    const h = (this.h = new DirectHandler());
    for (let i = a.index; i < a.pairs; i += a.workers) {
      const x = new Conn(2 * i, h);
      const y = new Conn(2 * i + 1, h);
      x.app = new Side(true);
      y.app = new Side(false);
      x.app.peer = y;
      y.app.peer = x;
      this.conns.push(x, y);
      this.initiators.push(x);
    }
    const r = await connectAll(h, this.conns, {
      host: a.host, port: a.port, rate: a.connectRate, timeoutS: a.timeoutS, sourceIps: a.sourceIps, tls: a.tls,
    });
    return { seconds: r.seconds, ready: h.readyCount, failures: h.failures.toJSON() };
  }

  async run(a) {
    const h = this.h;
    h.warmEnd = a.warmEnd;
    h.end = a.end;
    h.pad = a.size > 20 ? ' ' + 'x'.repeat(a.size - 21) : '';
    const active = this.initiators.filter((x) => x.readyAt !== 0 && x.app.peer.readyAt !== 0);
    const marks = { warm: null, end: null };
    const pWarm = sleepUntil(a.warmEnd).then(() => (marks.warm = cpuMark()));
    const pEnd = sleepUntil(a.end).then(() => (marks.end = cpuMark()));
    await sleepUntil(a.t0);
    h.sending = true;
    for (const x of active) h.ping(x);
    await pWarm;
    await pEnd;
    h.sending = false;
    const drainUntil = monoUs() + a.drainS * 1e6;
    while (monoUs() < drainUntil && active.some((x) => x.app.outstanding && x.state === 1)) await sleep(20);
    return {
      activePairs: active.length,
      roundTrips: h.roundTrips,
      rtt: h.rtt.toJSON(),
      stalled: active.filter((x) => x.app.outstanding).length,
      outOfOrder: h.outOfOrder,
      foreign: h.foreign,
      disconnects: h.disconnects.toJSON(),
      markWarm: marks.warm,
      markEnd: marks.end,
    };
  }

  async quit() {
    return quitAll(this.conns);
  }
}

export async function main(opts) {
  const P = opts.pairs;
  const run = await startRun('direct', opts, 2 * P);
  const { target, probe, pool, workers, sourceIps } = run;
  printHeader(`direct: ${P} pairs, PRIVMSG ping-pong, 1 in flight per pair, warm-up ${opts.warmup}s, ` +
      `measure ${opts.duration}s`, target, workers, sourceIps, probe.pid);

  const setups = await pool.call('setup', (i) => ({
    index: i, workers, tls: opts.tls, pairs: P, host: target.host, port: target.port,
    connectRate: opts.connectRate / workers, timeoutS: opts.timeout, sourceIps,
  }));
  const failures = new Reasons();
  let ready = 0;
  for (const s of setups) {
    failures.merge(s.failures);
    ready += s.ready;
  }
  out(`   setup: ${ready}/${2 * P} clients ready in ${round3(Math.max(...setups.map((s) => s.seconds)))}s; ` +
      `failures: ${fmtReasons(failures.toJSON())}`);
  if (ready === 0) throw new Error('no client became ready');

  const srvSetup = probe.snap();
  const gen0 = await genSnap(pool);
  const t0 = monoUs() + 300e3;
  const warmEnd = t0 + opts.warmup * 1e6;
  const end = warmEnd + opts.duration * 1e6;
  const srvMarks = {};
  const snapAt = (at, key) => sleepUntil(at).then(() => (srvMarks[key] = probe.snap()));
  const marks = Promise.all([snapAt(warmEnd, 'warm'), snapAt(end, 'end')]);
  const results = await pool.call('run', { t0, warmEnd, end, size: opts.size, drainS: opts.drain });
  await marks;
  const gen1 = await genSnap(pool);
  const srvAfter = probe.snap();
  const quits = await pool.call('quit');
  await pool.close();

  const rtt = new Histogram();
  const disconnects = new Reasons();
  let roundTrips = 0, activePairs = 0, stalled = 0, outOfOrder = 0, foreign = 0;
  for (const r of results) {
    rtt.merge(r.rtt);
    disconnects.merge(r.disconnects);
    roundTrips += r.roundTrips;
    activePairs += r.activePairs;
    stalled += r.stalled;
    outOfOrder += r.outOfOrder;
    foreign += r.foreign;
  }
  const [genWarm, genEnd] = windowGen(results, gen1);
  const windowRes = resources(genWarm, genEnd, srvMarks.warm, srvMarks.end, opts.duration);
  const totalRes = resources(gen0, gen1, srvSetup, srvAfter, (monoUs() - t0) / 1e6);

  const result = {
    scenario: 'direct',
    target: `${target.host}:${target.port}`,
    params: { tls: opts.tls || null, pairs: P, size: opts.size, warmup: opts.warmup, duration: opts.duration, workers, sourceIps },
    ready,
    setupFailures: failures.toJSON(),
    activePairs,
    roundTripsPerSec: Math.round(roundTrips / opts.duration),
    messagesPerSec: Math.round((2 * roundTrips) / opts.duration),
    rttMs: rtt.summaryMs(),
    stalledPairs: stalled,
    outOfOrder,
    foreignLines: foreign,
    disconnects: disconnects.toJSON(),
    forcedCloses: quits.reduce((x, q) => x + q.forced, 0),
    measured: windowRes,
    wholeRun: totalRes,
  };
  out(`   ${result.roundTripsPerSec} round trips/s (${result.messagesPerSec} PRIVMSG/s) over ${activePairs} pairs`);
  out(`   round-trip latency: ${fmtLat(result.rttMs)}`);
  out(`   stalled pairs ${stalled}  out-of-order ${outOfOrder}  disconnects: ${fmtReasons(result.disconnects)}`);
  printResources('measured window', windowRes);
  printResources('whole run', totalRes, false);
  return result;
}

if (isMain(import.meta.url)) runCli('direct', main, defaults, usage);
