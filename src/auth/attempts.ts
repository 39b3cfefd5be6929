// Counts attempts per key (an IP, an account) within a time window, for rate limits and brute
// force protection. The map is an LRU with a fixed size, so hostile keys cannot grow it.
import { LRUCache } from 'lru-cache';

interface Window {
  count: number;
  startedAt: number;
}

export class AttemptCounter {
  private readonly windows: LRUCache<string, Window>;

  constructor(readonly size: number) {
    this.windows = new LRUCache({ max: size });
  }

  /** Attempts counted for `key` in the window that started at most `windowMs` ago. */
  count(key: string, windowMs: number, now = Date.now()): number {
    const w = this.windows.get(key);
    return w && now - w.startedAt < windowMs ? w.count : 0;
  }

  /** Counts one attempt; a window older than `windowMs` starts over. */
  hit(key: string, windowMs: number, now = Date.now()): number {
    const w = this.windows.get(key);
    if (w && now - w.startedAt < windowMs) return ++w.count;
    this.windows.set(key, { count: 1, startedAt: now });
    return 1;
  }

  clear(key: string): void {
    this.windows.delete(key);
  }
}
