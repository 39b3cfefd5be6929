// Rate-bounded connection ramp: opens conns at `rate` per second and resolves
// once every one of them is ready (registered + joined) or has failed. A
// connection still unsettled `timeoutS` after the last connect() is counted
// as a 'timeout' failure and destroyed.
import { monoUs } from './clock.js';
import { sourceAddress } from './plan.js';
import { tlsMode } from './client.js';

const TICK_MS = 5;

/** `tls`: as the --tls option (see tlsMode in client.js). */
export function connectAll(handler, conns, { host, port, rate, timeoutS = 30, sourceIps = 1, tls = null }) {
  const mode = tlsMode(tls);
  return new Promise((resolve) => {
    const t0 = monoUs();
    let started = 0;
    let startSpanS = 0; // first to last connect() call
    let sweep = null;
    const finish = () => {
      clearInterval(ticker);
      if (sweep) clearTimeout(sweep);
      handler.onAllSettled = null;
      resolve({ seconds: (monoUs() - t0) / 1e6, started, startSpanS });
    };
    handler.pending += conns.length;
    handler.onAllSettled = finish;
    if (conns.length === 0) {
      setImmediate(finish);
      return;
    }
    const perUs = rate > 0 ? rate / 1e6 : Infinity;
    const ticker = setInterval(() => {
      const due = Math.min(conns.length, Math.floor((monoUs() - t0) * perUs) + 1);
      while (started < due) {
        const c = conns[started++];
        c.connect(host, port, sourceAddress(c.id, sourceIps), mode);
      }
      if (started === conns.length) {
        startSpanS = (monoUs() - t0) / 1e6;
        clearInterval(ticker);
        sweep = setTimeout(() => {
          const now = monoUs();
          for (const c of conns) {
            if (!c.settled) {
              handler.settle(c, now, c.state === 0 ? 'timeout waiting for 001' : 'timeout waiting for JOIN');
              c.destroy();
            }
          }
        }, timeoutS * 1000);
      }
    }, TICK_MS);
  });
}

/** QUIT every open connection, wait for the server to close them (bounded), destroy the rest. */
export async function quitAll(conns, waitMs = 5000) {
  for (const c of conns) {
    c.setBatched(false);
    c.quit();
  }
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && conns.some((c) => c.state !== 2)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  let forced = 0;
  for (const c of conns) {
    if (c.state !== 2) {
      forced++;
      c.destroy();
    }
  }
  return { forced };
}
