// Coordinator helpers common to all scenarios: target/worker/source planning,
// server and generator resource snapshots, and the human-readable summary.
import { parseTarget } from './args.js';
import { Pool } from './pool.js';
import { ServerProbe, selfCpuS, delta, round3 } from './proc.js';
import { workerCount, sourceIpCount, MAX_SOCKETS_PER_WORKER } from './plan.js';

export async function startRun(scenario, opts, totalSockets) {
  const target = parseTarget(opts.target);
  const probe = new ServerProbe(opts.serverPid);
  if (probe.pid && !probe.alive()) throw new Error(`--server-pid ${probe.pid}: no such process`);
  const workers = workerCount(totalSockets, opts.workers, opts.maxSocketsPerWorker || MAX_SOCKETS_PER_WORKER);
  const sourceIps = sourceIpCount(totalSockets, opts.sourceIps);
  const pool = await Pool.start(scenario, workers);
  return { target, probe, pool, workers, sourceIps };
}

/** Generator resources: summed CPU of workers + coordinator, worst loop delay since the last call. */
export async function genSnap(pool) {
  const ws = await pool.call('_stats');
  let cpuS = selfCpuS();
  let loopP99 = 0;
  let loopMax = 0;
  let rssKb = 0;
  for (const w of ws) {
    cpuS += w.cpuS;
    rssKb += w.rssKb;
    loopP99 = Math.max(loopP99, w.loopDelayP99Ms);
    loopMax = Math.max(loopMax, w.loopDelayMaxMs);
  }
  const userS = ws.reduce((a, w) => a + w.userS, 0);
  const sysS = ws.reduce((a, w) => a + w.sysS, 0);
  return {
    cpuS, userS, sysS, workerCpuS: ws.map((w) => w.cpuS), workerSched: ws.map((w) => w.sched),
    rssKb, loopDelayP99Ms: loopP99, loopDelayMaxMs: loopMax,
  };
}

/**
 * Generator snapshots for the measured window from the cpuMark()s each worker
 * took itself at warm-up end and at the end (no IPC latency in the window).
 */
export function windowGen(results, genAfter) {
  const a = {
    cpuS: 0,
    workerCpuS: results.map(() => 0),
    workerSched: results.map((r) => r.markWarm.sched),
  };
  const b = {
    ...genAfter,
    cpuS: results.reduce((x, r) => x + r.markEnd.cpuS - r.markWarm.cpuS, 0),
    workerCpuS: results.map((r) => r.markEnd.cpuS - r.markWarm.cpuS),
    workerSched: results.map((r) => r.markEnd.sched),
  };
  return [a, b];
}

/** Resource block of the JSON result for a window [a, b] of snapshots. */
export function resources(genA, genB, srvA, srvB, seconds) {
  const genCpu = delta(genA.cpuS, genB.cpuS);
  const srvCpu = delta(srvA.cpuS, srvB.cpuS);
  // Busiest single generator process: >~85% of a core means it may be the limit.
  const busy = delta(srvA.busyS, srvB.busyS);
  const other = busy === null || genCpu === null ? null : round3(Math.max(0, busy - genCpu - (srvCpu || 0)));
  let busiest = 0;
  genB.workerCpuS.forEach((c, i) => (busiest = Math.max(busiest, c - genA.workerCpuS[i])));
  // Demand = (on-CPU + waiting for a CPU) / wall of the main (event-loop) thread.
  const demand = (a, b) => (a && b ? Math.round(((b.cpuS - a.cpuS + b.waitS - a.waitS) / seconds) * 100) : null);
  let genDemand = null;
  if (genA.workerSched && genB.workerSched) {
    genB.workerSched.forEach((sb, i) => {
      const d = demand(genA.workerSched[i], sb);
      if (d !== null) genDemand = Math.max(genDemand ?? 0, d);
    });
  }
  const srvDemand = demand(srvA.sched, srvB.sched);
  return {
    seconds: round3(seconds),
    generatorCpuS: genCpu,
    generatorCpuPct: genCpu === null ? null : Math.round((genCpu / seconds) * 100),
    generatorBusiestProcessPct: Math.round((busiest / seconds) * 100),
    generatorDemandPct: genDemand,
    generatorLoopDelayP99Ms: genB.loopDelayP99Ms,
    generatorLoopDelayMaxMs: genB.loopDelayMaxMs,
    serverCpuS: srvCpu,
    serverCpuPct: srvCpu === null ? null : Math.round((srvCpu / seconds) * 100),
    serverDemandPct: srvDemand,
    // The main thread's share of serverCpuS: the event loop, without helper threads (a writer thread).
    serverMainCpuS: srvA.sched && srvB.sched ? round3(srvB.sched.cpuS - srvA.sched.cpuS) : null,
    serverRssKb: srvB.rssKb,
    // Everything else that ran on the machine meanwhile (other processes, softirq).
    otherCpuS: other,
    otherCpuPct: other === null ? null : Math.round((other / seconds) * 100),
  };
}

export function printHeader(title, target, workers, sourceIps, serverPid) {
  out(`== ${title}`);
  out(`   target ${target.host}:${target.port}  generator processes ${workers}  source IPs ${sourceIps}` +
      `  server pid ${serverPid || '(none: no server stats)'}`);
}

export function printResources(label, r, warn = true) {
  const srv = r.serverCpuS === null ? 'n/a' : `${r.serverCpuS}s (${r.serverCpuPct}%, demand ${r.serverDemandPct ?? '?'}%)`;
  const rss = r.serverRssKb === null ? 'n/a' : `${(r.serverRssKb / 1024).toFixed(1)} MiB`;
  out(`   ${label}: ${r.seconds}s wall  generator CPU ${r.generatorCpuS}s (${r.generatorCpuPct}%, demand ${r.generatorDemandPct ?? '?'}%), ` +
      `loop delay p99 ${r.generatorLoopDelayP99Ms} ms max ${r.generatorLoopDelayMaxMs} ms  |  server CPU ${srv}, RSS ${rss}` +
      `  |  other ${r.otherCpuS === null ? 'n/a' : r.otherCpuS + 's'}`);
  if (!warn) return;
  if (r.otherCpuPct !== null && r.otherCpuPct > 25) {
    out(`   NOTE: other load used ${r.otherCpuPct}% of a core meanwhile -- numbers may be noisy`);
  }
  if (r.generatorBusiestProcessPct > 85 || r.generatorDemandPct > 90) {
    out(`   WARNING: a generator process used ${r.generatorBusiestProcessPct}% of a core ` +
        `(demand ${r.generatorDemandPct}%) -- it may be the bottleneck`);
  }
}

export function fmtLat(s) {
  return `n=${s.n} p50 ${s.p50} ms  p90 ${s.p90}  p99 ${s.p99}  p99.9 ${s.p999}  max ${s.max}  mean ${s.mean}`;
}

export function fmtReasons(obj) {
  const e = Object.entries(obj || {});
  if (e.length === 0) return 'none';
  return e.sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v}x ${k}`).join('; ');
}

export function out(s) {
  process.stdout.write(s + '\n');
}
