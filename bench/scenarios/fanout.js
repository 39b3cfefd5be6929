// Scenario "fanout": C channels x M members, the first S members of each
// channel are senders. Every PRIVMSG payload is "<sid> <seq> <tUs>[ pad]":
// the global sender id, that sender's sequence number (0, 1, 2, ...), and the
// send time on the machine-wide monotonic clock (lib/clock.js), so any
// generator process can compute the delivery latency.
//
// Each receiver tracks, per sender of its channel, the next expected sequence:
// a higher one means the skipped messages were lost, a lower one is a
// duplicate (TCP keeps each path in order, so reordering cannot happen
// legitimately). At the end every ready member except the sender should have
// received every message the sender sent: expected - received - lost are
// "undelivered", i.e. still queued when the drain ended (server backlog) or
// addressed to a member that disconnected.
//
// Two load modes:
//  * rate mode (--rate R): R messages/s in total, spread evenly over all
//    senders, open loop (sending does not wait for deliveries). The payload
//    time is the actual send time, so latency covers server + kernel +
//    receiving generator, and a generator that falls behind shows up as a
//    lower sent/s than offered (and as loop delay).
//  * window mode (--window K, the default when --rate is absent): closed loop.
//    Each sender keeps K messages outstanding. A message is complete when the
//    sender's designated observer -- one fixed other member of the channel,
//    placed in the same generator process so no IPC is involved -- receives
//    it; then the sender sends its next one. Throughput is thus what the
//    server sustains while delivering to the whole channel, and the window
//    bounds the queueing (latency = fan-out time of one message to M-1
//    members under K*S messages in flight).
//
// Eager and batched receivers: a generator that read()s every delivery as it
// arrives pays one syscall + one JS callback per line -- about what the server
// pays to write it -- so against a fast server it would saturate first. Only
// --eager members per channel (spread evenly over the join order), plus every
// window-mode observer, read eagerly and feed the latency histogram; all other
// members read in batches every --batch-ms (see lib/client.js). Every member
// still parses every line for delivery, loss and duplicate accounting, and
// the server still writes each line to each socket as it happens. --eager 0
// or --batch-ms 0 makes every member eager.
//
// Timeline: setup (connect + join, not measured), warm-up (sending, not
// measured), measured window of --duration seconds (deliveries and sends are
// counted by the time they happen), then a drain of at most --drain seconds
// in which nothing new is sent and stragglers are collected for loss counting.
import { Conn, Handler, setBatchInterval } from '../lib/client.js';
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
  channels: 1,
  members: 200,
  senders: 10, // per channel
  rate: 0, // total msgs/s offered; 0 = window mode
  window: 1, // outstanding messages per sender in window mode
  size: 0, // pad the payload text to about this many bytes
  warmup: 2,
  duration: 10,
  drain: 5,
  eager: null, // members per channel that read every line as it arrives (latency sample); default 5%, <= ~100 total
  batchMs: null, // read interval of the other members; default: ~8 lines per read in rate mode, else 25 ms
  connectRate: 2000, // setup ramp, connects/s
  timeout: 30,
  workers: 1,
  sourceIps: 1,
  tls: null, // full: every client over TLS with a full handshake; resume: TLS offering the last session ticket
};

const usage = `
node bench/scenarios/fanout.js --target HOST:PORT [--server-pid PID]
    [--channels 1] [--members 200] [--senders 10]
    [--rate MSGS_PER_S | --window 1] [--size 0]
    [--warmup 2] [--duration 10] [--drain 5] [--eager auto] [--batch-ms auto]
    [--connect-rate 2000]
    [--workers 1] [--source-ips 1] [--tls full|resume]
`;

/** Generator process holding member (c, m): whole channels per process when possible, else members interleaved. */
function ownerOf(c, m, channels, workers) {
  return channels >= workers ? c % workers : m % workers;
}

class Member {
  constructor(chan, senders) {
    this.chan = chan;
    this.sidBase = chan * senders;
    this.next = new Int32Array(senders); // next expected seq per sender of this channel
    this.watch = null; // observer: sender conns (by index in channel) whose acks we deliver
    this.sender = null; // SenderState if this member sends
  }
}

class SenderState {
  constructor(sid, chan) {
    this.sid = sid;
    this.prefix = `PRIVMSG #f${chan} :${sid} `;
    this.seq = 0;
    this.inflight = 0;
    this.observer = null; // Conn that acknowledges this sender's messages (window mode)
  }
}

class FanoutHandler extends Handler {
  constructor(totalSenders) {
    super();
    this.fields = [0, 0, 0]; // reused by readDecimals: sender id, seq, send time
    this.hist = new Histogram();
    this.uniq = new Float64Array(totalSenders); // unique deliveries per global sender id
    this.warmEnd = Infinity;
    this.end = Infinity;
    this.sending = false;
    this.windowMode = false;
    this.pad = '';
    this.delivered = 0; // deliveries received inside the measured window
    this.sentInWindow = 0;
    this.dups = 0;
    this.gaps = 0;
    this.foreign = 0;
    this.lastRecvAt = 0;
  }

  joinChannels(conn) {
    return ['#f' + conn.app.chan];
  }

  sendOne(conn) {
    const st = conn.app.sender;
    const now = monoUs();
    conn.send(st.prefix + st.seq + ' ' + Math.floor(now) + this.pad + '\r\n');
    st.seq++;
    st.inflight++;
    if (now >= this.warmEnd && now < this.end) this.sentInWindow++;
  }

  onPrivmsg(conn, b, s, e, now) {
    // Payload "<sid> <seq> <tUs>[ pad]", parsed in place.
    const fields = this.fields;
    fields[2] = 0;
    readDecimals(b, s, e, fields);
    const sid = fields[0];
    const seq = fields[1];
    const ts = fields[2];
    const a = conn.app;
    const k = sid - a.sidBase;
    if (k < 0 || k >= a.next.length || !(ts > 0)) {
      this.foreign++;
      return;
    }
    this.lastRecvAt = now;
    const next = a.next[k];
    if (seq !== next) {
      if (seq < next) {
        this.dups++;
        return;
      }
      this.gaps += seq - next;
    }
    a.next[k] = seq + 1;
    this.uniq[sid]++;
    if (now >= this.warmEnd && now < this.end) {
      this.delivered++;
      if (!conn.batched) this.hist.record(now - ts);
    }
    if (this.windowMode && a.watch !== null) {
      const snd = a.watch[k];
      if (snd !== null && snd !== undefined) {
        snd.app.sender.inflight--;
        if (this.sending && snd.state === 1) this.sendOne(snd);
      }
    }
  }
}

export class Worker {
  constructor(index) {
    this.index = index;
    this.conns = [];
    this.senders = [];
    this.h = null;
  }

  async setup(a) {
    const { channels: C, members: M, senders: S, workers: W } = a;
    const h = (this.h = new FanoutHandler(C * S));
    for (let c = 0; c < C; c++) {
      const local = [];
      for (let m = 0; m < M; m++) {
        if (ownerOf(c, m, C, W) !== this.index) continue;
        const conn = new Conn(c * M + m, h);
        conn.app = new Member(c, S);
        if (m < S) conn.app.sender = new SenderState(c * S + m, c);
        local.push(conn);
        this.conns.push(conn);
      }
      // Observers: each local sender gets a local member; prefer non-senders.
      const snd = local.filter((x) => x.app.sender !== null);
      const non = local.filter((x) => x.app.sender === null);
      snd.forEach((x, i) => {
        let obs = non.length ? non[i % non.length] : snd[(i + 1) % snd.length];
        if (obs === x) obs = null;
        x.app.sender.observer = obs;
        if (obs) {
          if (obs.app.watch === null) obs.app.watch = new Array(S).fill(null);
          obs.app.watch[x.app.sender.sid - c * S] = x;
        }
      });
      this.senders.push(...snd);
    }
    const r = await connectAll(h, this.conns, {
      host: a.host, port: a.port, rate: a.connectRate, timeoutS: a.timeoutS, sourceIps: a.sourceIps, tls: a.tls,
    });
    const readyByChan = new Array(C).fill(0);
    for (const x of this.conns) if (x.readyAt !== 0) readyByChan[x.app.chan]++;
    return {
      seconds: r.seconds,
      clients: this.conns.length,
      ready: h.readyCount,
      readyByChan,
      failures: h.failures.toJSON(),
      regLatency: h.regLatency.toJSON(),
      joinLatency: h.joinLatency.toJSON(),
    };
  }

  async run(a) {
    const h = this.h;
    h.warmEnd = a.warmEnd;
    h.end = a.end;
    h.windowMode = !(a.rate > 0);
    h.pad = a.size > 24 ? ' ' + 'x'.repeat(a.size - 25) : '';
    // Members not in the eager sample (and not observers) read in batches. The
    // sample is spread evenly over the non-senders (senders don't get their own
    // messages back), or over everyone if all members send.
    const S = a.senders;
    const pool = a.members > S ? a.members - S : a.members;
    const first = a.members > S ? S : 0;
    const batching = a.eager > 0 && a.batchMs > 0 && a.eager < pool;
    if (batching) setBatchInterval(a.batchMs);
    let eagerCount = 0;
    for (const x of this.conns) {
      const j = (x.id % a.members) - first;
      const sampled = j >= 0 && (j * a.eager) % pool < a.eager;
      const eager = !batching || sampled || (h.windowMode && x.app.watch !== null);
      if (x.state === 1) x.setBatched(!eager);
      if (eager) eagerCount++;
    }
    const senders = this.senders.filter((x) => x.readyAt !== 0 && x.state === 1 &&
        (!h.windowMode || (x.app.sender.observer !== null && x.app.sender.observer.readyAt !== 0)));
    const marks = { warm: null, end: null };
    const markAt = (at, key) => sleepUntil(at).then(() => (marks[key] = cpuMark()));
    const pWarm = markAt(a.warmEnd, 'warm');
    const pEnd = markAt(a.end, 'end');

    await sleepUntil(a.t0);
    h.sending = true;
    let ticker = null;
    if (!h.windowMode) {
      // Open loop: at each 1 ms tick send whatever the schedule says is due.
      const localRate = a.totalSenders > 0 ? (a.rate * senders.length) / a.totalSenders : 0;
      const perUs = localRate / 1e6;
      let sent = 0;
      let rr = 0;
      const t0 = monoUs();
      ticker = setInterval(() => {
        const now = monoUs();
        if (now >= h.end || senders.length === 0) return;
        let due = Math.floor((now - t0) * perUs) - sent;
        while (due-- > 0) {
          const snd = senders[rr];
          rr = rr + 1 === senders.length ? 0 : rr + 1;
          if (snd.state === 1) h.sendOne(snd);
          sent++;
        }
      }, 1);
    } else {
      for (const snd of senders) for (let k = 0; k < a.window; k++) h.sendOne(snd);
    }
    await pWarm;
    await pEnd;
    h.sending = false;
    if (ticker) clearInterval(ticker);
    let backlogBytes = 0;
    for (const x of this.conns) if (x.state !== 2) backlogBytes += x.socket.writableLength;

    // Drain: until 500 ms without deliveries (and, in window mode, nothing outstanding), bounded.
    const drainUntil = monoUs() + a.drainS * 1e6;
    for (;;) {
      await sleep(50);
      const now = monoUs();
      if (now >= drainUntil) break;
      const quiet = now - Math.max(h.lastRecvAt, a.end) > 500e3;
      if (quiet && (!h.windowMode || senders.every((x) => x.app.sender.inflight <= 0))) break;
    }

    const sentBySid = {};
    let stalled = 0;
    let backpressured = 0;
    for (const x of this.senders) sentBySid[x.app.sender.sid] = x.app.sender.seq;
    for (const x of senders) if (h.windowMode && x.app.sender.inflight > 0) stalled++;
    for (const x of this.conns) backpressured += x.backpressured;
    for (const x of this.conns) x.setBatched(false);
    return {
      eagerMembers: eagerCount,
      activeSenders: senders.length,
      sentInWindow: h.sentInWindow,
      delivered: h.delivered,
      sentBySid,
      uniq: Array.from(h.uniq),
      dups: h.dups,
      gaps: h.gaps,
      foreign: h.foreign,
      stalled,
      backlogBytes,
      backpressured,
      hist: h.hist.toJSON(),
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
  const { channels: C, members: M, senders: S } = opts;
  if (!(M >= 2) || !(S >= 1) || S > M) throw new Error('need members >= 2 and 1 <= senders <= members');
  const run = await startRun('fanout', opts, C * M);
  const { target, probe, pool, workers, sourceIps } = run;
  if (C < workers && M / workers < 2) throw new Error('too few members per generator process');
  const windowMode = !(opts.rate > 0);
  // 5% of each channel, but about 100 eager sockets at most over all channels:
  // an eager socket costs a read per line, and the latency sample stays large.
  if (opts.eager === null || opts.eager === undefined) opts.eager = Math.max(1, Math.min(Math.ceil(M / 20), Math.floor(100 / C)));
  if (opts.batchMs === null || opts.batchMs === undefined) {
    // A member receives rate/C lines/s in rate mode; aim at ~8 lines per read.
    const perMember = windowMode ? 0 : opts.rate / C;
    opts.batchMs = perMember > 0 ? Math.min(100, Math.max(10, Math.round(8000 / perMember))) : 25;
  }
  const mode = windowMode ? `closed loop, window ${opts.window}/sender` : `rate ${opts.rate} msgs/s`;
  printHeader(`fanout: ${C} channel(s) x ${M} members, ${S} sender(s)/channel, ${mode}, ` +
      `warm-up ${opts.warmup}s, measure ${opts.duration}s`, target, workers, sourceIps, probe.pid);

  const setups = await pool.call('setup', (i) => ({
    index: i, workers, tls: opts.tls, channels: C, members: M, senders: S, host: target.host, port: target.port,
    connectRate: opts.connectRate / workers, timeoutS: opts.timeout, sourceIps,
  }));
  const failures = new Reasons();
  const readyByChan = new Array(C).fill(0);
  let ready = 0;
  for (const s of setups) {
    failures.merge(s.failures);
    ready += s.ready;
    s.readyByChan.forEach((v, c) => (readyByChan[c] += v));
  }
  out(`   setup: ${ready}/${C * M} members ready in ${round3(Math.max(...setups.map((s) => s.seconds)))}s; ` +
      `failures: ${fmtReasons(failures.toJSON())}`);
  if (ready === 0) throw new Error('no client became ready');

  const srvSetup = probe.snap();
  const gen0 = await genSnap(pool); // also resets the loop-delay monitors
  const t0 = monoUs() + 300e3; // leave time for the start message to reach every process
  const warmEnd = t0 + opts.warmup * 1e6;
  const end = warmEnd + opts.duration * 1e6;
  const srvMarks = {};
  const snapAt = (at, key) => sleepUntil(at).then(() => (srvMarks[key] = probe.snap()));
  const marks = Promise.all([snapAt(warmEnd, 'warm'), snapAt(end, 'end')]);
  const results = await pool.call('run', {
    t0, warmEnd, end, rate: opts.rate, window: opts.window, totalSenders: C * S, size: opts.size,
    drainS: opts.drain, eager: opts.eager, batchMs: opts.batchMs, members: M, senders: S,
  });
  await marks;
  const gen1 = await genSnap(pool);
  if (process.env.BENCH_DEBUG) console.error('gen user/sys', gen1.userS - gen0.userS, gen1.sysS - gen0.sysS);
  const srvAfter = probe.snap();
  const quits = await pool.call('quit');
  await pool.close();

  // Merge.
  const hist = new Histogram();
  const disconnects = new Reasons();
  const uniq = new Float64Array(C * S);
  const sentBySid = {};
  let delivered = 0, sentInWindow = 0, dups = 0, gaps = 0, foreign = 0, stalled = 0;
  let activeSenders = 0, backlogBytes = 0, backpressured = 0, eagerMembers = 0;
  for (const r of results) {
    hist.merge(r.hist);
    disconnects.merge(r.disconnects);
    r.uniq.forEach((v, i) => (uniq[i] += v));
    Object.assign(sentBySid, r.sentBySid);
    delivered += r.delivered;
    sentInWindow += r.sentInWindow;
    dups += r.dups;
    gaps += r.gaps;
    foreign += r.foreign;
    stalled += r.stalled;
    activeSenders += r.activeSenders;
    eagerMembers += r.eagerMembers;
    backlogBytes += r.backlogBytes;
    backpressured += r.backpressured;
  }
  // Expected deliveries: every ready member of the channel except the sender itself.
  let sentTotal = 0;
  let expected = 0;
  let received = 0;
  for (const [sidStr, sent] of Object.entries(sentBySid)) {
    const sid = Number(sidStr);
    const c = Math.floor(sid / S);
    sentTotal += sent;
    expected += sent * Math.max(0, readyByChan[c] - 1);
    received += uniq[sid];
  }
  const lost = gaps;
  const undelivered = Math.max(0, expected - received - gaps);

  const [genWarm, genEnd] = windowGen(results, gen1);
  const windowRes = resources(genWarm, genEnd, srvMarks.warm, srvMarks.end, opts.duration);
  const totalRes = resources(gen0, gen1, srvSetup, srvAfter, (monoUs() - t0) / 1e6);

  const result = {
    scenario: 'fanout',
    mode: windowMode ? 'window' : 'rate',
    target: `${target.host}:${target.port}`,
    params: {
      channels: C, members: M, senders: S, rate: opts.rate || null, window: windowMode ? opts.window : null,
      size: opts.size, warmup: opts.warmup, duration: opts.duration, eager: opts.eager, batchMs: opts.batchMs,
      workers, sourceIps, tls: opts.tls || null,
    },
    eagerMembers,
    ready,
    setupFailures: failures.toJSON(),
    activeSenders,
    sentPerSec: Math.round(sentInWindow / opts.duration),
    deliveredPerSec: Math.round(delivered / opts.duration),
    latencyMs: hist.summaryMs(),
    sentTotal,
    expectedDeliveries: expected,
    uniqueDeliveries: received,
    lost,
    undelivered,
    duplicates: dups,
    foreignLines: foreign,
    stalledSenders: windowMode ? stalled : null,
    disconnects: disconnects.toJSON(),
    generatorWriteBacklogBytes: backlogBytes,
    generatorBackpressureEvents: backpressured,
    forcedCloses: quits.reduce((x, q) => x + q.forced, 0),
    measured: windowRes,
    wholeRun: totalRes,
  };

  out(`   sent ${result.sentPerSec} msgs/s` + (windowMode ? '' : ` (offered ${opts.rate})`) +
      `  delivered ${result.deliveredPerSec} lines/s  (${activeSenders} senders)`);
  out(`   delivery latency (${eagerMembers} eager members): ${fmtLat(result.latencyMs)}`);
  out(`   expected deliveries ${expected}: lost ${lost}  undelivered at end of drain ${undelivered}  duplicates ${dups}` +
      (windowMode ? `  stalled senders ${stalled}` : '') + (foreign ? `  foreign lines ${foreign}` : ''));
  out(`   disconnects: ${fmtReasons(result.disconnects)}` +
      (backlogBytes ? `  generator write backlog at end ${backlogBytes} B` : ''));
  printResources('measured window', windowRes);
  printResources('whole run', totalRes, false);
  return result;
}

if (isMain(import.meta.url)) runCli('fanout', main, defaults, usage);
