// One write per connection per event-loop tick: a connection asks for a flush on its first write
// of a tick, and every connection that asked is flushed together once the tick's work is done.
//
// Thousands of connections can have output in one tick (a mass disconnect's QUITs, a netsplit,
// joins to big channels), and handing each its write costs several µs (Node's stream layer and
// the syscall): 5,000 of them took 30-70 ms. So a flush does at most FLUSH_BUDGET_MS of writes
// per turn, and the rest waits for the next turn, after the poll phase has read other sockets.
// Output asked for since the last turn (a bystander's PONG) goes before that backlog, which
// still gets at least half of each turn so it cannot starve.
/** What the queue flushes: a Connection (net/connection.ts), which hands its output to its socket. */
export interface Flushable {
  flush(): void;
}

/** Writes done per turn before the rest waits for the next one. */
const FLUSH_BUDGET_MS = 5;

/**
 * How long output may wait for the end of the poll phase. A phase that handles thousands of
 * socket events (a mass disconnect: each end-of-file costs Node's stream layer several µs before
 * our code runs) lasts tens of milliseconds, and a PONG asked for early in it would wait for all
 * of it.
 */
const LATE_FLUSH_MS = 5;

/** Connections checked between two looks at the clock. */
const CLOCK_EVERY = 32;

/** Connections waiting for their write, in order, taken from the front without shifting. */
class ConnList {
  items: Flushable[] = [];
  head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** Flushes from the front until empty or `until` (performance.now()); true when emptied. */
  flushUntil(until: number): boolean {
    const items = this.items;
    while (this.head < items.length) {
      const conn = items[this.head]!;
      items[this.head++] = undefined as unknown as Flushable;
      // A connection closed since it was listed has nothing left to write: its flush does nothing.
      conn.flush();
      if (this.head % CLOCK_EVERY === 0 && performance.now() >= until) break;
    }
    if (this.head < items.length) return false;
    // Emptied: reused (its backing store kept: a fan-out fills it again every tick).
    items.length = 0;
    this.head = 0;
    return true;
  }

  /** Moves what `other` still holds to the end of this list. */
  takeRest(other: ConnList): void {
    for (let i = other.head; i < other.items.length; i++) this.items.push(other.items[i]!);
    other.items.length = 0;
    other.head = 0;
  }
}

export class FlushQueue {
  /** Connections that asked since the last flush, each listed once (until it is flushed). */
  private fresh = new ConnList();
  /** Connections left over from earlier turns' flushes. */
  private backlog = new ConnList();
  /** A spare list swapped with `fresh` while it is flushed. */
  private spare = new ConnList();
  /** performance.now() when the oldest unflushed output was asked for. */
  private waitingSince = 0;
  private immediateQueued = false;

  /** Shared by every connection instead of a closure each (memory per idle client). */
  readonly scheduleFlush = (conn: Flushable): void => {
    if (this.fresh.length === 0 && this.backlog.length === 0) this.waitingSince = performance.now();
    this.fresh.items.push(conn);
    if (this.immediateQueued) return;
    this.immediateQueued = true;
    setImmediate(this.atEndOfPoll);
  };

  private readonly atEndOfPoll = (): void => {
    this.immediateQueued = false;
    this.flush(FLUSH_BUDGET_MS);
  };

  /**
   * Flushes now if output has waited longer than LATE_FLUSH_MS. Called at the top of socket
   * callbacks, where no command is half-run, so a flush here splits nothing a tick boundary
   * would not.
   */
  flushIfLate(): void {
    if ((this.fresh.length > 0 || this.backlog.length > 0) && performance.now() - this.waitingSince > LATE_FLUSH_MS) this.flush(FLUSH_BUDGET_MS);
  }

  /** Flushes every connection now, however long it takes (shutdown, benchmarks). */
  flushAll(): void {
    this.flush(Infinity);
  }

  private flush(budgetMs: number): void {
    const start = performance.now();
    const until = start + budgetMs;
    // New output first, but with a backlog waiting, only for half the turn.
    const due = this.fresh;
    this.fresh = this.spare;
    this.spare = due;
    const backlogWaits = this.backlog.length > 0;
    due.flushUntil(backlogWaits ? start + budgetMs / 2 : until);
    if (backlogWaits) this.backlog.flushUntil(until);
    this.backlog.takeRest(due);
    if (this.backlog.length > 0 || this.fresh.length > 0) {
      this.waitingSince = start;
      if (!this.immediateQueued) {
        this.immediateQueued = true;
        setImmediate(this.atEndOfPoll);
      }
    }
  }
}
