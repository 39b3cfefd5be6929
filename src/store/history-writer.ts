// Where sqlite chat history is written. On a worker thread (history-worker.ts) that has its own
// connection to the store file: a batch's statements, its commit and the WAL checkpoints commits
// bring run there, off the event loop, while the main thread reads through its connection (WAL
// lets readers and one writer work at once). On the main thread for a store in memory (no file
// to share) and once the worker has failed. Changes are applied in the order sent; a reader first
// waits for every change sent (`wait`), so it sees each message relayed before it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Db } from './db.js';
import { HistoryTable, type HistoryBatch } from './history.js';

/** A direct conversation's participant and the nick it last used there. */
export interface Peer {
  target: string;
  id: string;
  nick: string;
}

/** One change to the history tables. */
export type HistoryOp =
  | { op: 'write'; rows: HistoryBatch; peers: Peer[]; keep: number }
  | { op: 'remove'; target: string; msgid: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'forget'; id: string }
  | { op: 'prune'; since: number; maxDbBytes: number };

/** Applies one change; for `remove`, whether the message was there. */
export function applyOp(table: HistoryTable, op: HistoryOp): boolean | undefined {
  switch (op.op) {
    case 'write':
      table.write(op.rows, op.peers, op.keep);
      return undefined;
    case 'remove':
      return table.remove(op.target, op.msgid);
    case 'rename':
      table.rename(op.from, op.to);
      return undefined;
    case 'forget':
      table.forgetParticipant(op.id);
      return undefined;
    case 'prune':
      table.prune(op.since, op.maxDbBytes);
      return undefined;
  }
}

/** What the worker answers for each change, in order. */
export interface Done {
  seq: number;
  /** Messages stored after it. */
  rows: number;
  result?: boolean;
  error?: { message: string; stack?: string };
}

/** What the main thread sends the worker: a change, or the order to close its connection. */
export type ToWorker = { seq: number; op: HistoryOp } | { seq: number; close: true };

/** What the worker is started with. */
export interface WorkerSetup {
  path: string;
  /** Int32Array over it: [0] the seq of the last change done. */
  done: SharedArrayBuffer;
  replies: MessagePort;
}

/**
 * Unanswered changes past which `send` waits for the worker (the disk is behind): with at most
 * MAX_BATCH messages a change, memory for them stays bounded and nothing is dropped.
 */
export const MAX_IN_FLIGHT = 16;
/** Longest a reader waits for the worker before taking it for failed. */
export const WAIT_MS = 5000;

export interface HistoryWriter {
  /** Where changes are applied. */
  readonly where: 'worker thread' | 'main thread';
  /** Messages stored, as of the last change applied that the main thread has heard of. */
  readonly rows: number;
  /** Applies a change, now or soon. */
  send(op: HistoryOp): void;
  /** Applies a change and everything sent before it; its result. */
  call(op: HistoryOp): boolean | undefined;
  /** Returns once every change sent is applied (a failed one is reported, not thrown). */
  wait(): void;
  /** Applies what is sent and stops. */
  close(): void;
}

/** Writes on the main thread, at once. */
export class InlineWriter implements HistoryWriter {
  readonly where = 'main thread';

  constructor(
    private readonly table: HistoryTable,
    private readonly onError: (err: Error) => void,
  ) {}

  get rows(): number {
    return this.table.rows;
  }

  send(op: HistoryOp): boolean | undefined {
    try {
      return applyOp(this.table, op);
    } catch (err) {
      this.onError(err as Error);
      return undefined;
    }
  }

  call(op: HistoryOp): boolean | undefined {
    return this.send(op);
  }

  wait(): void {}

  close(): void {}
}

/**
 * The worker's script. Run from the TypeScript sources (the tests import them), it is the build's
 * copy in dist/: a worker thread loads JavaScript only.
 */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  const beside = join(dirname(here), 'history-worker.js');
  if (here.endsWith('.js') || existsSync(beside)) return beside;
  return join(dirname(here), '..', '..', 'dist', 'src', 'store', 'history-worker.js');
}

/**
 * Writes on a worker thread. Each change gets a sequence number; the worker stores the number of
 * the last one done in shared memory (so the main thread can wait for it with Atomics.wait, in a
 * synchronous read) and answers on a port read with receiveMessageOnPort (results, errors, the
 * row count). When the worker dies or does not answer within WAIT_MS, the changes it did not
 * confirm are applied on the main thread and so is everything after (`failed` tells the owner).
 */
export class WorkerWriter implements HistoryWriter {
  private worker: Worker | undefined;
  private fallback: InlineWriter | undefined;
  private readonly done: Int32Array;
  private readonly replies: MessagePort;
  private seq = 0;
  /** Changes sent and not yet confirmed, oldest first. */
  private readonly inFlight: Array<{ seq: number; op: HistoryOp }> = [];
  private stored: number;
  private lastResult: boolean | undefined;
  private closing = false;

  constructor(
    db: Db,
    private readonly table: HistoryTable,
    private readonly onError: (err: Error) => void,
    /** Told once, when the worker failed and the main thread took over. */
    private readonly failed: (why: Error) => void,
  ) {
    this.stored = table.rows;
    const shared = new SharedArrayBuffer(4);
    this.done = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    // Answers are read as they come (so a failed batch is logged at once) and, when a reader
    // waits, synchronously (receive).
    port1.on('message', (done: Done) => this.settled(done));
    port1.unref();
    const setup: WorkerSetup = { path: db.name, done: shared, replies: port2 };
    const worker = new Worker(workerScript(), { workerData: setup, transferList: [port2] });
    this.worker = worker;
    // It never keeps the process alive: close() ends it, and a process that exits without
    // close() loses at most what was not yet written, as a crash would.
    worker.unref();
    worker.on('error', (err) => this.takeOver(err));
    worker.on('exit', (code) => {
      if (!this.closing) this.takeOver(new Error(`the history writer thread exited (code ${code})`));
    });
  }

  get where(): 'worker thread' | 'main thread' {
    return this.fallback ? 'main thread' : 'worker thread';
  }

  get rows(): number {
    if (this.fallback) return this.fallback.rows;
    this.receive();
    return this.stored;
  }

  send(op: HistoryOp): void {
    if (this.fallback) {
      this.fallback.send(op);
      return;
    }
    const seq = ++this.seq;
    this.inFlight.push({ seq, op });
    this.worker!.postMessage({ seq, op } satisfies ToWorker);
    this.receive();
    if (this.inFlight.length > MAX_IN_FLIGHT) this.waitFor(this.inFlight[this.inFlight.length - MAX_IN_FLIGHT]!.seq);
  }

  call(op: HistoryOp): boolean | undefined {
    if (this.fallback) return this.fallback.call(op);
    this.send(op);
    this.wait();
    return this.lastResult;
  }

  wait(): void {
    if (!this.fallback) this.waitFor(this.seq);
  }

  close(): void {
    if (this.closing) return;
    this.wait();
    this.closing = true;
    if (this.fallback || !this.worker) return;
    const seq = ++this.seq;
    this.worker.postMessage({ seq, close: true } satisfies ToWorker);
    this.block(seq);
    void this.worker.terminate();
    this.worker = undefined;
    this.replies.close();
  }

  /** Blocks until the worker has done change `seq`; false when it did not within WAIT_MS. */
  private block(seq: number): boolean {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const done = Atomics.load(this.done, 0);
      if (done >= seq) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.done, 0, done, left);
    }
  }

  private waitFor(seq: number): void {
    if (this.inFlight.length === 0 || this.inFlight[0]!.seq > seq) return;
    if (!this.block(seq)) {
      this.takeOver(new Error(`the history writer thread did not answer within ${WAIT_MS} ms`));
      return;
    }
    this.receive();
  }

  /** Reads the worker's answers that have arrived. */
  private receive(): void {
    for (let got = receiveMessageOnPort(this.replies); got; got = receiveMessageOnPort(this.replies)) this.settled(got.message as Done);
  }

  private settled(done: Done): void {
    while (this.inFlight.length > 0 && this.inFlight[0]!.seq <= done.seq) this.inFlight.shift();
    this.stored = done.rows;
    this.lastResult = done.result;
    if (done.error) this.onError(Object.assign(new Error(done.error.message), { stack: done.error.stack }));
  }

  /**
   * The worker failed: what it confirmed is stored; the changes it did not confirm are applied
   * here (one it applied without confirming, as it died, is applied twice: at most one batch
   * stored twice, never one lost), and so is everything after.
   */
  private takeOver(why: Error): void {
    if (this.fallback || this.closing) return;
    this.receive();
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      worker.removeAllListeners('exit');
      void worker.terminate();
    }
    this.table.recount();
    this.fallback = new InlineWriter(this.table, this.onError);
    this.failed(why);
    for (const { op } of this.inFlight.splice(0)) this.lastResult = this.fallback.send(op);
  }
}

/** The writer for a store: a worker thread for a database file, the main thread for one in memory. */
export function historyWriter(db: Db, table: HistoryTable, onError: (err: Error) => void, failed: (why: Error) => void): HistoryWriter {
  if (db.memory) return new InlineWriter(table, onError);
  try {
    return new WorkerWriter(db, table, onError, failed);
  } catch (err) {
    failed(err as Error);
    return new InlineWriter(table, onError);
  }
}
