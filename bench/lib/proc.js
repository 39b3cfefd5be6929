// Resource readings: the server's CPU and RSS from /proc (the server may be any
// process, e.g. InspIRCd), and the generator's own CPU from process.cpuUsage.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // Linux USER_HZ is 100 on every mainstream build.
}

/** utime+stime of a process (all threads) in seconds, or null if it is gone. */
export function procCpuS(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm may contain spaces/parentheses: fields are counted after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / clkTck; // fields 14 and 15 of stat(5)
  } catch {
    return null;
  }
}

/** { rssKb, hwmKb } from /proc/PID/status, or null if it is gone. */
export function procMem(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'latin1');
    const rss = /^VmRSS:\s+(\d+)/m.exec(st);
    const hwm = /^VmHWM:\s+(\d+)/m.exec(st);
    return { rssKb: rss ? Number(rss[1]) : null, hwmKb: hwm ? Number(hwm[1]) : null };
  } catch {
    return null;
  }
}

/**
 * Main thread's { cpuS, waitS } from /proc/PID/schedstat: time on a CPU and
 * time runnable but waiting for one. For an event-loop process (node,
 * InspIRCd) (cpu + wait) / wall near 100% means the loop never idled: it was
 * saturated, even if other load on a shared machine kept its CPU% lower.
 */
export function procSched(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/schedstat`, 'latin1').trim().split(' ');
    return { cpuS: Number(f[0]) / 1e9, waitS: Number(f[1]) / 1e9 };
  } catch {
    return null;
  }
}

/** Snapshots of one server process; every method tolerates pid = null (no server stats). */
export class ServerProbe {
  constructor(pid) {
    this.pid = pid ? Number(pid) : null;
  }

  snap() {
    const busyS = machineBusyS();
    if (!this.pid) return { cpuS: null, rssKb: null, busyS, sched: null };
    const mem = procMem(this.pid);
    return { cpuS: procCpuS(this.pid), rssKb: mem ? mem.rssKb : null, busyS, sched: procSched(this.pid) };
  }

  alive() {
    return this.pid ? procCpuS(this.pid) !== null : true;
  }
}

/**
 * CPU seconds the whole machine spent busy (all cores, everything but idle and
 * iowait). Busy minus server minus generator = other load (builds, tests,
 * softirq work) that makes a run noisy.
 */
export function machineBusyS() {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal
    return (total - f[3] - f[4]) / clkTck;
  } catch {
    return null;
  }
}

/** This process's user+system CPU in seconds. */
export function selfCpuS() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** This process's CPU and main-thread scheduling, for phase boundaries inside workers. */
export function cpuMark() {
  return { cpuS: selfCpuS(), sched: procSched(process.pid) };
}

export function delta(a, b) {
  return a === null || b === null || a === undefined || b === undefined ? null : round3(b - a);
}

export function round3(x) {
  return Math.round(x * 1000) / 1000;
}

/** A loopback port free now, for a daemon a script starts itself. */
export async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}
