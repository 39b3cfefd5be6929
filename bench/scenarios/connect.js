// Scenario "connect": N clients register (NICK/USER, wait for 001, optionally
// JOIN C channels) at a bounded rate, then sit idle for --hold seconds
// answering PINGs. Reports registration latency, failures with reasons,
// disconnects during the hold, and the server's RSS growth per client
// (RSS after the hold minus RSS before connecting, divided by ready clients).
import { Conn, PoolHandler } from '../lib/client.js';
import { connectAll, quitAll } from '../lib/ramp.js';
import { sleep } from '../lib/clock.js';
import { Histogram, Reasons } from '../lib/stats.js';
import { isMain, runCli } from '../lib/cli.js';
import {
  startRun, genSnap, resources, printHeader, printResources, fmtLat, fmtReasons, out,
} from '../lib/coordinator.js';

export const defaults = {
  target: '127.0.0.1:6667',
  serverPid: null,
  clients: 1000,
  rate: 1000, // connection attempts per second, all generator processes together
  hold: 10, // idle seconds after the ramp
  channels: 0, // channels joined by each client
  channelSize: 100, // target members per channel when channels > 0
  timeout: 30, // seconds after the last connect() before an unregistered client counts as failed
  workers: 1,
  sourceIps: 1,
  tls: null, // full: every client over TLS with a full handshake; resume: TLS offering the last session ticket
};

const usage = `
node bench/scenarios/connect.js --target HOST:PORT [--server-pid PID]
    [--clients 1000] [--rate 1000] [--hold 10] [--channels 0] [--channel-size 100]
    [--timeout 30] [--workers 1] [--source-ips 1] [--tls full|resume]
`;

export class Worker {
  constructor(index) {
    this.index = index;
    this.conns = [];
    this.handler = null;
  }

  async setup(a) {
    this.handler = new PoolHandler(a.channels, a.poolSize, '#j');
    for (let id = a.index; id < a.clients; id += a.workers) this.conns.push(new Conn(id, this.handler));
    const r = await connectAll(this.handler, this.conns, a);
    const h = this.handler;
    return {
      seconds: r.seconds,
      startSpanS: r.startSpanS,
      ready: h.readyCount,
      failures: h.failures.toJSON(),
      regLatency: h.regLatency.toJSON(),
      handshakeLatency: h.handshakeLatency.toJSON(),
      resumed: h.resumed,
      joinLatency: h.joinLatency.toJSON(),
    };
  }

  async hold({ seconds }) {
    await sleep(seconds * 1000);
    let open = 0;
    for (const c of this.conns) if (c.state !== 2 && c.readyAt !== 0) open++;
    return { open, disconnects: this.handler.disconnects.toJSON() };
  }

  async quit() {
    return quitAll(this.conns);
  }
}

export async function main(opts) {
  const n = opts.clients;
  const run = await startRun('connect', opts, n);
  const { target, probe, pool, workers, sourceIps } = run;
  printHeader(`connect: ${n} clients at ${opts.rate}/s` + (opts.channels ? `, ${opts.channels} channels each` : '') +
      `, hold ${opts.hold}s`, target, workers, sourceIps, probe.pid);
  const poolSize = opts.channels ? Math.max(opts.channels, Math.ceil((n * opts.channels) / opts.channelSize)) : 0;

  const srv0 = probe.snap();
  const gen0 = await genSnap(pool);
  const t0 = performance.now();
  const setups = await pool.call('setup', (i) => ({
    index: i, workers, tls: opts.tls, clients: n, host: target.host, port: target.port,
    rate: opts.rate / workers, timeoutS: opts.timeout, sourceIps, channels: opts.channels, poolSize,
  }));
  const rampS = (performance.now() - t0) / 1000;
  const srv1 = probe.snap();
  const gen1 = await genSnap(pool);
  const holds = await pool.call('hold', { seconds: opts.hold });
  const srv2 = probe.snap();
  const gen2 = await genSnap(pool);
  const quits = await pool.call('quit');
  await pool.close();

  const reg = new Histogram();
  const handshake = new Histogram();
  let resumed = 0;
  const join = new Histogram();
  const failures = new Reasons();
  const disconnects = new Reasons();
  let ready = 0;
  for (const s of setups) {
    reg.merge(s.regLatency);
    handshake.merge(s.handshakeLatency);
    resumed += s.resumed;
    join.merge(s.joinLatency);
    failures.merge(s.failures);
    ready += s.ready;
  }
  let open = 0;
  for (const h of holds) {
    disconnects.merge(h.disconnects);
    open += h.open;
  }
  const rssGrowthKb = srv0.rssKb !== null && srv2.rssKb !== null ? srv2.rssKb - srv0.rssKb : null;
  const perClient = rssGrowthKb !== null && ready > 0 ? Math.round((rssGrowthKb / ready) * 100) / 100 : null;

  const result = {
    scenario: 'connect',
    target: `${target.host}:${target.port}`,
    params: { clients: n, rate: opts.rate, hold: opts.hold, channels: opts.channels, poolSize, workers, sourceIps, tls: opts.tls || null },
    ready,
    failed: failures.total,
    failures: failures.toJSON(),
    rampSeconds: Math.round(rampS * 1000) / 1000,
    // Attempts per second actually offered (first to last connect() call).
    connectRatePerSec: n > 1 ? Math.round((n - 1) / Math.max(1e-3, Math.max(...setups.map((s) => s.startSpanS)))) : null,
    registrationMs: reg.summaryMs(),
    // TLS: connect() -> handshake done, and how many handshakes resumed a session.
    handshakeMs: opts.tls ? handshake.summaryMs() : null,
    resumedSessions: opts.tls ? resumed : null,
    joinMs: opts.channels ? join.summaryMs() : null,
    openAfterHold: open,
    disconnectsDuringHold: disconnects.toJSON(),
    forcedCloses: quits.reduce((a, q) => a + q.forced, 0),
    server: {
      rssKbBefore: srv0.rssKb, rssKbAfterRamp: srv1.rssKb, rssKbAfterHold: srv2.rssKb,
      rssGrowthKb, rssGrowthPerClientKb: perClient,
    },
    ramp: resources(gen0, gen1, srv0, srv1, rampS),
    // Server CPU per connection + registration: everything it did during the ramp, per ready client.
    serverCpuMsPerClient: null,
    hold: resources(gen1, gen2, srv1, srv2, opts.hold),
  };

  if (result.ramp.serverCpuS !== null && ready > 0) result.serverCpuMsPerClient = Math.round((result.ramp.serverCpuS / ready) * 1e6) / 1e3;

  out(`   ready ${ready}/${n}  failed ${failures.total}: ${fmtReasons(result.failures)}`);
  out(`   ramp ${result.rampSeconds}s until all settled; connects offered at ${result.connectRatePerSec}/s`);
  if (opts.tls) out(`   TLS handshake latency: ${fmtLat(result.handshakeMs)}  (${resumed} resumed)`);
  out(`   registration latency: ${fmtLat(result.registrationMs)}`);
  out(`   server CPU per connection + registration: ${result.serverCpuMsPerClient ?? 'n/a'} ms`);
  if (opts.channels) out(`   join latency (001 -> last 366): ${fmtLat(result.joinMs)}`);
  out(`   hold ${opts.hold}s: ${open} still open, disconnects: ${fmtReasons(result.disconnectsDuringHold)}`);
  const kb = (v) => (v === null ? 'n/a' : `${(v / 1024).toFixed(1)} MiB`);
  out(`   server RSS before ${kb(srv0.rssKb)}  after ramp ${kb(srv1.rssKb)}  after hold ${kb(srv2.rssKb)}` +
      `  => ${perClient === null ? 'n/a' : perClient + ' KiB'} per client`);
  printResources('ramp', result.ramp);
  printResources('hold', result.hold, false);
  return result;
}

if (isMain(import.meta.url)) runCli('connect', main, defaults, usage);
