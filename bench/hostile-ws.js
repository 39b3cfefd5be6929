#!/usr/bin/env node
// Hostile WebSocket clients against a daemon started from dist/ on the default class limits
// (flood, recvq, sendq, connect_rate, max_per_ip): the daemon's RSS, a bystander's PING round
// trips and whether browsers from other addresses still get in, before and during two attacks:
//
//   ping-flood    a registered WebSocket client that never reads sends 125-byte PING frames as
//                 fast as it can (and a PONG line every 5 s, so it is not timed out); dropped, it
//                 reconnects at once from the same address
//   silent        1,030 sockets from one address that never send a byte, each reopened a second
//                 after the server closes it (so up to ~1,000 connections a second once refused)
//
//   npm run build && node bench/hostile-ws.js [--seconds 20] [--heap-mb 512] [--dist dist]
//        [--only ping-flood,silent]
//
// --dist runs another build (e.g. one from before a change); --heap-mb caps the daemon's V8 heap
// (--max-old-space-size); --only picks the attacks (a baseline phase always runs first). Prints
// one JSON line per phase, then a summary line. The bystander is a plain client from 127.0.0.2
// that sends a PING every 600 ms (within the default flood rate of 2 lines a second); browsers
// are probed once a second from 127.0.0.4-7 (upgrade, register, QUIT); the attackers use
// 127.0.0.1 (ping-flood) and 127.0.0.3 (silent).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.js';
import { sleep } from './lib/clock.js';
import { freePort, procMem } from './lib/proc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs(process.argv.slice(2));
const phaseMs = (args.seconds ?? 20) * 1000;
const dist = resolve(ROOT, args.dist ?? 'dist');
const SILENT_SOCKETS = 1030;
const attacks = String(args.only ?? 'ping-flood,silent').split(',');

/** Starts the daemon on a config with an IRC and a WebSocket listener and the default class. */
async function startDaemon() {
  const [ircPort, wsPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'ircd-hostile-ws-'));
  const config = join(dir, 'ircd.toml');
  writeFileSync(
    config,
    `[server]\nname = "bench.local"\nmotd = "${join(ROOT, 'motd.txt')}"\n` +
      `[[listen]]\naddress = "127.0.0.1"\nport = ${ircPort}\n` +
      `[[listen]]\naddress = "127.0.0.1"\nport = ${wsPort}\nwebsocket = true\n` +
      `[[class]]\nname = "default"\n[[allow]]\nmask = "*"\nclass = "default"\n` +
      `[log]\nlevel = "warn"\ndestination = "${join(dir, 'ircd.log')}"\n[store]\npath = ":memory:"\n`,
  );
  const heap = args.heapMb ? [`--max-old-space-size=${args.heapMb}`] : [];
  const child = spawn(process.execPath, [...heap, join(dist, 'src/main.js'), '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const daemon = { child, pid: child.pid, ircPort, wsPort, exited: null, stderr: '' };
  child.stderr.on('data', (d) => (daemon.stderr = (daemon.stderr + d).slice(-2000)));
  child.on('exit', (code, signal) => (daemon.exited = signal ?? `exit ${code}`));
  for (let i = 0; i < 100 && !daemon.exited; i++) {
    const up = await new Promise((r) => connect(ircPort, '127.0.0.1').once('connect', function () { this.destroy(); r(true); }).once('error', () => r(false)));
    if (up) return daemon;
    await sleep(100);
  }
  throw new Error(`daemon did not start (${daemon.exited ?? 'no listener'}): ${daemon.stderr}`);
}

/** A client frame: masked, as RFC 6455 requires. */
function maskedFrame(opcode, payload) {
  const header = payload.length < 126 ? 2 : 4;
  const out = Buffer.alloc(header + 4 + payload.length);
  out[0] = 0x80 | opcode;
  if (header === 2) out[1] = 0x80 | payload.length;
  else {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(payload.length, 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, header);
  for (let i = 0; i < payload.length; i++) out[header + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

const textFrame = (line) => maskedFrame(0x1, Buffer.from(line));

/**
 * Opens a WebSocket from `localAddress`, registers as `nick` and resolves with the socket once
 * 001 arrives (or null if it is closed or refused first, or after 5 s). Server frames are only
 * scanned for text, which is all these clients need.
 */
function webClient(port, localAddress, nick) {
  return new Promise((resolveClient) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    let seen = '';
    const done = (value) => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolveClient(value);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      done(null);
    }, 5000);
    const onData = (d) => {
      seen = (seen + d.toString('latin1')).slice(-4096);
      if (/ 001 /.test(seen)) done(socket);
      else if (/ERROR :/.test(seen)) {
        socket.destroy();
        done(null);
      }
    };
    socket.on('error', () => {});
    socket.on('close', () => done(null));
    socket.on('data', onData);
    socket.once('connect', () => {
      socket.write(
        'GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      socket.write(Buffer.concat([textFrame(`NICK ${nick}`), textFrame(`USER ${nick} 0 * :bench`)]));
    });
  });
}

/** The bystander: a plain client whose PING round trips are recorded (ms; Infinity after 5 s). */
async function bystander(port) {
  const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
  socket.setEncoding('latin1');
  let buf = '';
  const waiting = new Map();
  let registered;
  const ready = new Promise((r) => (registered = r));
  socket.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\r\n')) !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (/ 001 /.test(line)) registered();
      else if (line.startsWith('PING ')) socket.write(`PONG ${line.slice(5)}\r\n`);
      const pong = / PONG \S+ :?(\S+)$/.exec(line);
      if (pong) waiting.get(pong[1])?.();
    }
  });
  socket.on('error', () => {});
  socket.write('NICK bystander\r\nUSER by 0 * :bystander\r\n');
  await ready;
  let seq = 0;
  return {
    ping() {
      const token = `t${seq++}`;
      const t0 = performance.now();
      return new Promise((r) => {
        const timer = setTimeout(() => (waiting.delete(token), r(Infinity)), 5000);
        waiting.set(token, () => (clearTimeout(timer), waiting.delete(token), r(performance.now() - t0)));
        socket.write(`PING ${token}\r\n`);
      });
    },
    close: () => socket.destroy(),
  };
}

function drainedOrClosed(socket) {
  return new Promise((r) => {
    const go = () => {
      socket.off('drain', go).off('close', go);
      r();
    };
    socket.on('drain', go).on('close', go);
  });
}

/** Ping-flood attacker: registers, stops reading, sends PING frames until dropped, then again. */
function pingFlood(port, counters) {
  let running = true;
  const frames = Buffer.concat(Array.from({ length: 500 }, () => maskedFrame(0x9, Buffer.alloc(125, 'p'))));
  const pongLine = textFrame('PONG :bench.local');
  (async () => {
    for (let n = 0; running; n++) {
      counters.attempts++;
      const socket = await webClient(port, '127.0.0.1', `flood${n}`);
      if (!socket) {
        await sleep(50);
        continue;
      }
      counters.registered++;
      socket.pause();
      let open = true;
      socket.on('close', () => (open = false));
      let lastPong = Date.now();
      while (running && open) {
        if (Date.now() - lastPong > 5000) {
          socket.write(pongLine);
          lastPong = Date.now();
        }
        counters.pingFrames += 500;
        if (!socket.write(frames)) await drainedOrClosed(socket);
        await new Promise((r) => setImmediate(r));
      }
      socket.destroy();
      if (!open) counters.dropped++;
    }
  })();
  return () => (running = false);
}

/** Silent attacker: SILENT_SOCKETS connections that never send a byte, reopened 1 s after they close. */
function silentSockets(port, counters) {
  let running = true;
  const sockets = new Set();
  const open = () => {
    if (!running) return;
    counters.opened++;
    const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' });
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => {
      sockets.delete(s);
      counters.closedByServer++;
      setTimeout(open, 1000);
    });
  };
  for (let i = 0; i < SILENT_SOCKETS; i++) open();
  return () => {
    running = false;
    for (const s of sockets) s.destroy();
  };
}

function summary(xs) {
  const finite = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const at = (q) => finite[Math.min(finite.length - 1, Math.floor(finite.length * q))];
  const r = (x) => (x === undefined ? null : Math.round(x * 100) / 100);
  return { samples: xs.length, timeouts: xs.length - finite.length, median: r(at(0.5)), p99: r(at(0.99)), max: r(finite.at(-1)) };
}

/** Runs one phase: the attack (if any) for phaseMs while the bystander pings and browsers are probed. */
async function phase(name, daemon, by, attack) {
  const counters = {};
  const stop = attack?.(counters) ?? (() => {});
  const rtts = [];
  const rssMb = [];
  const browsers = { ok: 0, failed: 0 };
  const end = Date.now() + phaseMs;
  const sampler = setInterval(() => {
    const mem = procMem(daemon.pid);
    if (mem?.rssKb) rssMb.push(Math.round(mem.rssKb / 1024));
  }, 250);
  const probing = (async () => {
    for (let i = 0; Date.now() < end && !daemon.exited; i++) {
      const t0 = Date.now();
      const socket = await webClient(daemon.wsPort, `127.0.0.${4 + (i % 4)}`, `${name.slice(0, 5)}${i}`);
      if (socket) {
        browsers.ok++;
        socket.end(textFrame('QUIT'));
      } else browsers.failed++;
      await sleep(Math.max(0, 1000 - (Date.now() - t0)));
    }
  })();
  while (Date.now() < end && !daemon.exited) {
    rtts.push(await by.ping());
    await sleep(600);
  }
  await probing;
  clearInterval(sampler);
  stop();
  const result = {
    phase: name,
    seconds: phaseMs / 1000,
    rssMb: { first: rssMb[0] ?? null, max: Math.max(...rssMb), last: rssMb.at(-1) ?? null },
    bystanderPingMs: summary(rtts),
    browsers,
    attacker: counters,
    daemon: daemon.exited ? `died (${daemon.exited}): ${daemon.stderr.split('\n').find((l) => /heap|memory/i.test(l)) ?? ''}` : 'up',
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  // Let the server settle (closed sockets, pending upgrades timing out) before the next phase.
  await sleep(11000);
  return result;
}

const daemon = await startDaemon();
const by = await bystander(daemon.ircPort);
const results = [];
results.push(await phase('baseline', daemon, by));
if (attacks.includes('ping-flood') && !daemon.exited)
  results.push(
    await phase('ping-flood', daemon, by, (c) => {
      Object.assign(c, { attempts: 0, registered: 0, dropped: 0, pingFrames: 0 });
      return pingFlood(daemon.wsPort, c);
    }),
  );
if (attacks.includes('silent') && !daemon.exited)
  results.push(
    await phase('silent', daemon, by, (c) => {
      Object.assign(c, { opened: 0, closedByServer: 0 });
      return silentSockets(daemon.wsPort, c);
    }),
  );
by.close();
daemon.child.kill('SIGTERM');
process.stdout.write(
  JSON.stringify({
    summary: results.map((r) => ({ phase: r.phase, rssMaxMb: r.rssMb.max, pingP99Ms: r.bystanderPingMs.p99, browsers: r.browsers, daemon: r.daemon })),
    dist: args.dist ?? 'dist',
    heapMb: args.heapMb ?? null,
  }) + '\n',
);
