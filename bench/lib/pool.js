// Coordinator side of the generator processes. Each worker is a separate
// process (child_process.fork), so it gets its own core and its own fd limit;
// worker_threads would share one fd table. Control messages are tiny JSON
// RPCs over the IPC channel; nothing on the traffic path crosses it.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
// Extra node flags for generator processes, e.g. BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
const EXEC_ARGV = (process.env.BENCH_WORKER_NODE_ARGS || '').split(' ').filter(Boolean);

export class Pool {
  static async start(scenario, n) {
    const pool = new Pool();
    await Promise.all(Array.from({ length: n }, (_, i) => pool.spawn(scenario, i)));
    return pool;
  }

  constructor() {
    this.workers = [];
    this.nextId = 1;
  }

  spawn(scenario, index) {
    return new Promise((resolve, reject) => {
      // Worker stdout goes to our stderr: our stdout ends with the JSON line.
      const child = fork(WORKER, [scenario, String(index)], {
        stdio: ['ignore', 2, 2, 'ipc'],
        execArgv: EXEC_ARGV,
      });
      const w = { child, index, pending: new Map(), exited: false };
      this.workers[index] = w;
      child.on('message', (m) => {
        if (m && m.ready) return resolve(w);
        const p = w.pending.get(m.id);
        if (!p) return;
        w.pending.delete(m.id);
        if (m.ok) p.resolve(m.data);
        else p.reject(new Error(`worker ${index}: ${m.error}`));
      });
      child.on('exit', (code, sig) => {
        w.exited = true;
        const err = new Error(`worker ${index} exited (${sig || code})`);
        for (const p of w.pending.values()) p.reject(err);
        w.pending.clear();
        reject(err);
      });
    });
  }

  get size() {
    return this.workers.length;
  }

  /** Call `cmd` on every worker; args is an object or a function of the worker index. */
  call(cmd, args) {
    return Promise.all(
      this.workers.map((w) => {
        const a = typeof args === 'function' ? args(w.index) : args;
        return new Promise((resolve, reject) => {
          if (w.exited) return reject(new Error(`worker ${w.index} is gone`));
          const id = this.nextId++;
          w.pending.set(id, { resolve, reject });
          w.child.send({ id, cmd, args: a });
        });
      }),
    );
  }

  async close() {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise((resolve) => {
            if (w.exited) return resolve();
            const t = setTimeout(() => w.child.kill('SIGKILL'), 5000);
            w.child.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            w.child.disconnect();
          }),
      ),
    );
  }
}
