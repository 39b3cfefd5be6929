// Generator process entry: node worker.js <scenario> <index>. Loads
// scenarios/<scenario>.js and serves the coordinator's RPCs with its Worker
// class. Built-in '_stats' reports this process's CPU, RSS and event-loop
// delay (a saturated generator shows up as a large loop delay).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { selfCpuS, procSched } from './proc.js';

const [scenario, index] = process.argv.slice(2);
const mod = await import(new URL(`../scenarios/${scenario}.js`, import.meta.url));
const impl = new mod.Worker(Number(index));

// The monitor's samples include its own timer period; subtract it so an idle
// loop reads ~0.
const LOOP_RES_MS = 10;
const loop = monitorEventLoopDelay({ resolution: LOOP_RES_MS });
loop.enable();
const loopMs = (ns) => Math.max(0, Math.round(ns / 1e4 - LOOP_RES_MS * 100) / 100);

function stats() {
  const u = process.cpuUsage();
  const s = {
    sched: procSched(process.pid),
    cpuS: selfCpuS(),
    userS: u.user / 1e6,
    sysS: u.system / 1e6,
    rssKb: Math.round(process.memoryUsage.rss() / 1024),
    loopDelayP99Ms: loopMs(loop.percentile(99)),
    loopDelayMaxMs: loopMs(loop.max),
  };
  loop.reset();
  return s;
}

process.on('message', async (m) => {
  try {
    const data = m.cmd === '_stats' ? stats() : await impl[m.cmd](m.args);
    process.send({ id: m.id, ok: true, data });
  } catch (err) {
    process.send({ id: m.id, ok: false, error: err && err.stack ? err.stack : String(err) });
  }
});
// The coordinator went away (or is done): leave, closing every socket.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
