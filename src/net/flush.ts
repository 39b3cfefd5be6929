// One write per connection per event-loop tick: a connection asks for a flush on its first write
// of a tick, and every connection that asked is flushed together once the tick's work is done.
import type { Connection } from './connection.js';

export class FlushQueue {
  /**
   * Connections with output this tick, each listed once. Arrays, swapped and reused: a Set
   * cleared every tick re-grew its hash table through every size up to the fan-out width each time.
   */
  private pendingFlush: Connection[] = [];
  private flushing: Connection[] = [];
  private flushScheduled = false;

  /** Shared by every connection instead of a closure each (memory per idle client). */
  readonly scheduleFlush = (conn: Connection): void => {
    this.pendingFlush.push(conn);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushAll());
  };

  flushAll(): void {
    this.flushScheduled = false;
    const due = this.pendingFlush;
    this.pendingFlush = this.flushing;
    this.flushing = due;
    // A connection closed since it was listed has nothing left to write: its flush does nothing.
    for (let i = 0; i < due.length; i++) due[i]!.flush();
    due.length = 0;
  }
}
