// Work that arrives in bursts (thousands of connections closing in one tick) done a bounded slice
// per event-loop turn: a queue drained from setImmediate for at most `budgetMs` a turn, so timers
// and other sockets' reads (a bystander's PING) run between slices instead of after all of it.
export class BudgetQueue<T> {
  private items: T[] = [];
  /** Index of the next item to run: items are taken from the front without shifting the array. */
  private head = 0;
  private scheduled = false;

  constructor(
    private readonly run: (item: T) => void,
    private readonly budgetMs: number,
    /** Told when `run` throws; the remaining items still run. */
    private readonly onError: (err: unknown) => void,
    /**
     * Items run per turn at most, for items that leave work to Node after they return (closing a
     * socket: its close callbacks run in a later phase of the loop, outside the time budget).
     */
    private readonly maxPerTurn = Infinity,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain(this.budgetMs));
  }

  /** Runs everything queued now (shutdown). */
  drainAll(): void {
    this.drain(Infinity);
  }

  private drain(budgetMs: number): void {
    // `scheduled` stays true until the queue is empty: an item pushed while this runs (a close
    // queuing its finish) must not queue a second drain, or each turn would run several slices.
    const until = performance.now() + budgetMs;
    const last = budgetMs === Infinity ? Infinity : this.head + this.maxPerTurn;
    while (this.head < this.items.length && this.head < last) {
      const item = this.items[this.head]!;
      // Taken off before it runs, so a throw does not run it again.
      this.items[this.head++] = undefined as T;
      try {
        this.run(item);
      } catch (err) {
        this.onError(err);
      }
      if (performance.now() >= until) break;
    }
    if (this.head < this.items.length) {
      setImmediate(() => this.drain(this.budgetMs));
      return;
    }
    this.scheduled = false;
    // Emptied: drop the grown backing store.
    this.items = [];
    this.head = 0;
  }
}
