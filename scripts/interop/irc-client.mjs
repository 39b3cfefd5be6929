// A line-based IRC client for the interop scripts (scripts/interop/solanum.sh, atheme.sh): PING answered,
// lines kept, and waits that never miss a line that arrived before them.
import { connect } from 'node:net';

export const TIMEOUT = 10000;

/**
 * Connects to 127.0.0.1:<port> and registers as <nick>. With `caps`, asks for them first
 * (CAP REQ): registration then waits for the caller's CAP END.
 */
export function client(port, nick, caps = []) {
  // `cursor`: waits look at lines after the last one a wait matched, so nothing that arrived in
  // between is missed.
  const c = { lines: [], waiters: [], cursor: 0, sock: connect({ host: '127.0.0.1', port: Number(port) }) };
  let buf = '';
  c.sock.setEncoding('utf8');
  c.sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      if (line.startsWith('PING ')) c.send('PONG ' + line.slice(5));
      c.lines.push(line);
      const w = c.waiters[0];
      if (w && w.test(line)) {
        c.cursor = c.lines.length;
        w.done(line);
      }
    }
  });
  c.sock.on('error', () => {});
  c.send = (l) => c.sock.write(l + '\r\n');
  c.close = () => c.sock.end('QUIT :done\r\n');
  /** Resolves with the first line after the cursor matching `re` (one wait at a time). */
  c.wait = (re) =>
    new Promise((resolve, reject) => {
      const at = c.lines.findIndex((l, i) => i >= c.cursor && re.test(l));
      if (at >= 0) {
        c.cursor = at + 1;
        return resolve(c.lines[at]);
      }
      const w = { test: (l) => re.test(l), done: (l) => { clearTimeout(t); c.waiters.splice(c.waiters.indexOf(w), 1); resolve(l); } };
      const t = setTimeout(() => { c.waiters.splice(c.waiters.indexOf(w), 1); reject(new Error(`${nick}: no line matching ${re} in ${TIMEOUT} ms; last lines:\n  ${c.lines.slice(-8).join('\n  ')}`)); }, TIMEOUT);
      c.waiters.push(w);
    });
  if (caps.length) c.send(`CAP REQ :${caps.join(' ')}`);
  c.send(`NICK ${nick}`);
  c.send(`USER ${nick} 0 * :interop ${nick}`);
  return c;
}

/** Runs one step of a check: prints "ok <name>", or "FAIL <name>" and why, and exits 1. */
export async function step(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    console.log(`FAIL ${name}\n${err.message}`);
    process.exit(1);
  }
}
