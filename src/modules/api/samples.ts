// Activity over the last hour for the web panel's graph: one sample a minute (users online,
// messages sent in that minute) in a ring of fixed size, so memory stays the same however long
// the server runs. Pure: the module feeds it from a timer, the tests feed it directly.

export interface Sample {
  /** Epoch ms of the sample. */
  at: number;
  /** Registered users at that moment. */
  users: number;
  /** PRIVMSG and NOTICE commands handled since the previous sample. */
  messages: number;
}

export class MinuteSamples {
  private readonly ring: Sample[] = [];
  /** Where the next sample goes once the ring is full. */
  private next = 0;
  /** The running message total at the previous sample (undefined before the first). */
  private lastTotal: number | undefined;

  /** The running message total at the last sample (0 before the first). */
  get totalAtLast(): number {
    return this.lastTotal ?? 0;
  }

  constructor(readonly capacity = 60) {}

  /** Records a sample; `messagesTotal` is the running count, turned into the difference since the last one. */
  record(at: number, users: number, messagesTotal: number): void {
    const messages = this.lastTotal === undefined ? 0 : Math.max(0, messagesTotal - this.lastTotal);
    this.lastTotal = messagesTotal;
    const sample = { at, users, messages };
    if (this.ring.length < this.capacity) this.ring.push(sample);
    else {
      this.ring[this.next] = sample;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  /** The samples kept, oldest first. */
  list(): Sample[] {
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
