// The worker thread that writes sqlite chat history (history-writer.ts starts it): its own
// connection to the store file applies the changes in the order sent, each answered on the reply
// port and then counted in the shared `done` cell, which the main thread may be waiting on.
import Database from 'better-sqlite3';
import { workerData, parentPort } from 'node:worker_threads';
import { HistoryTable } from './history.js';
import { applyOp, type Done, type ToWorker, type WorkerSetup } from './history-writer.js';

const setup = workerData as WorkerSetup;
const done = new Int32Array(setup.done);
const db = new Database(setup.path, { fileMustExist: true });
// Per connection: without it every commit would sync the WAL to disk, as the main connection does not.
db.pragma('synchronous = NORMAL');
const table = new HistoryTable(db);

function answer(reply: Done): void {
  // The answer first, then the count: a main thread that sees the count finds the answer.
  setup.replies.postMessage(reply);
  Atomics.store(done, 0, reply.seq);
  Atomics.notify(done, 0);
}

parentPort!.on('message', (msg: ToWorker) => {
  if ('close' in msg) {
    db.close();
    answer({ seq: msg.seq, rows: table.rows });
    parentPort!.close();
    return;
  }
  try {
    const result = applyOp(table, msg.op);
    answer({ seq: msg.seq, rows: table.rows, result });
  } catch (err) {
    const e = err as Error;
    answer({ seq: msg.seq, rows: table.rows, error: { message: e.message, stack: e.stack } });
  }
});
