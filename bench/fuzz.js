#!/usr/bin/env node
// The long fuzz run (issue #9): --lines random, hostile and mutated lines (bench/fuzz-lines.js,
// the generators of the suite's property test) over real sockets into a started daemon, from
// registered clients with every capability (opers when --oper is given) and from unregistered
// ones. Every batch ends with a PING; the run fails if the daemon stops answering, a reply says
// FAIL ... INTERNAL_ERROR (a handler threw), or --log names a file with "command failed" in it.
//
//   node bench/fuzz.js --port 6667 [--host 127.0.0.1] [--lines 1000000] [--batch 40] [--seed N]
//        [--oper name:password] [--log /path/to/daemon.log]
//
// Use a class with generous limits (max_per_ip, connect_rate, flood, recvq) for 127.0.0.0/8, and
// an oper class without "ban", "kill" and "die" for --oper: a fuzzed KLINE of its own nick would
// lock every later fuzzer out, and DIE would end the run. Prints one JSON line at the end.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from './lib/args.js';
import { fuzzLine, SEEDS } from './fuzz-lines.js';


const args = parseArgs(process.argv.slice(2));
const host = args.host ?? '127.0.0.1';
const port = args.port ?? 6667;
const total = args.lines ?? 1_000_000;
const batch = args.batch ?? 40;
const seed = args.seed ?? Date.now() % 2 ** 31;
const names = [...new Set(SEEDS.map((s) => s.replace(/^@\S+ /, '').split(' ')[0]))];
const CAPS_WANTED = 'CAP LS 302';

let seq = 0;
let addr = 0;
const stats = { lines: 0, batches: 0, registeredBatches: 0, reconnects: 0, internalErrors: 0, closedBy: {} };

/** A connection that records lines and resolves waits on them. */
function open() {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, localAddress: `127.0.0.${1 + (addr++ % 16)}` });
    const conn = { socket, lines: [], closed: false, waiters: [] };
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        conn.lines.push(line);
        if (/ FAIL \S+ INTERNAL_ERROR /.test(line)) {
          stats.internalErrors++;
          process.stderr.write(`handler failure: ${line}\n`);
        }
        if (line.startsWith('ERROR ')) {
          const reason = /\((.*)\)$/.exec(line)?.[1] ?? line;
          const why = reason.startsWith('Quit') ? 'Quit' : reason.replace(/\d+/g, 'N').slice(0, 40);
          stats.closedBy[why] = (stats.closedBy[why] ?? 0) + 1;
        }
        if (/^PING /.test(line)) socket.write(`PONG ${line.slice(5)}\r\n`);
      }
      for (const w of conn.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      conn.closed = true;
      for (const w of conn.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
    socket.once('connect', () => resolve(conn));
    socket.once('error', reject);
  });
}

/** Waits for a line matching `re` (from index `from`); false if the connection closed or 15 s passed. */
async function waitLine(conn, re, from = 0) {
  const deadline = Date.now() + 15000;
  for (let i = from; ; ) {
    for (; i < conn.lines.length; i++) if (re.test(conn.lines[i])) return true;
    if (conn.closed || Date.now() > deadline) return false;
    await new Promise((r) => {
      conn.waiters.push(r);
      setTimeout(r, 500);
    });
  }
}

async function registered() {
  const conn = await open();
  const nick = `fz${(++seq).toString(36)}`;
  conn.socket.write(`${CAPS_WANTED}\r\n`);
  await waitLine(conn, / CAP \S+ LS /);
  const caps = conn.lines.filter((l) => / CAP \S+ LS /.test(l)).flatMap((l) => l.slice(l.lastIndexOf(':') + 1).split(' ').map((c) => c.split('=')[0]));
  conn.socket.write(`CAP REQ :${caps.join(' ')}\r\nCAP END\r\nNICK ${nick}\r\nUSER fz 0 * :fuzzer\r\n`);
  if (!(await waitLine(conn, / 001 /))) throw new Error(`fuzzer could not register: ${conn.lines.slice(-3).join(' | ')}`);
  if (args.oper) {
    const [name, password] = String(args.oper).split(':');
    conn.socket.write(`OPER ${name} ${password}\r\n`);
  }
  conn.socket.write('JOIN #fuzz,#Fuzz[1],#keyed,#moderated\r\n');
  return conn;
}

/** Sends a batch and waits for the PONG behind it; false if the daemon dropped the connection. */
async function feed(conn, lines) {
  const token = `sync${(++seq).toString(36)}`;
  const from = conn.lines.length;
  conn.socket.write(Buffer.concat([...lines.flatMap((l) => [l, Buffer.from('\r\n')]), Buffer.from(`PING ${token}\r\n`)]));
  return waitLine(conn, new RegExp(`PONG \\S+ :?${token}$`), from);
}

async function main() {
  const started = Date.now();
  const gen = fuzzLine(names);
  let fuzzer = await registered();
  let lastReport = started;
  while (stats.lines < total) {
    const lines = fc.sample(gen, { numRuns: batch, seed: seed + stats.batches });
    stats.lines += lines.length;
    stats.batches++;
    if (stats.batches % 4 === 0) {
      const fresh = await open();
      await feed(fresh, lines);
      fresh.socket.destroy();
    } else {
      stats.registeredBatches++;
      if (fuzzer.closed) {
        stats.reconnects++;
        fuzzer = await registered();
      }
      if (!(await feed(fuzzer, lines)) && !fuzzer.closed) throw new Error(`no PONG within 15 s after batch ${stats.batches}: the daemon is stuck`);
      fuzzer.lines.length = 0;
    }
    if (Date.now() - lastReport > 10000) {
      lastReport = Date.now();
      process.stderr.write(`${stats.lines} lines, ${Math.round(stats.lines / ((lastReport - started) / 1000))}/s\n`);
    }
  }
  fuzzer.socket.destroy();
  const probe = await registered();
  const alive = await feed(probe, []);
  probe.socket.destroy();
  const commandFailures = args.log ? (readFileSync(args.log, 'utf8').match(/"msg":"(command|hook) failed"/g) ?? []).length : undefined;
  const seconds = (Date.now() - started) / 1000;
  const result = {
    date: new Date(started).toISOString(),
    params: { lines: total, batch, seed, oper: !!args.oper },
    seconds: Math.round(seconds),
    linesPerSecond: Math.round(stats.lines / seconds),
    aliveAfterwards: alive,
    internalErrors: stats.internalErrors,
    commandFailuresLogged: commandFailures,
    ...stats,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(alive && stats.internalErrors === 0 && !commandFailures ? 0 : 1);
}

main().catch((err) => {
  process.stderr.write(`fuzz: ${err.message}\n`);
  process.exit(1);
});
