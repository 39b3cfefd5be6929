// Counts attempts per key (an IP, an account) within a time window, for rate limits and brute
// force protection. The map is an LRU with a fixed size, so hostile keys cannot grow it.
import { LRUCache } from 'lru-cache';

interface Window {
  count: number;
  startedAt: number;
}

export class AttemptCounter {
  private readonly windows: LRUCache<string, Window>;
  /**
   * Attempts whose outcome is still being computed (a password hash), per key. Limits count them:
   * a check and its hit are an await apart, so parallel attempts would otherwise all pass the
   * check the first one made. Bounded by the attempts running at once; empty keys are removed.
   */
  private readonly underWayByKey = new Map<string, number>();

  constructor(readonly size: number) {
    this.windows = new LRUCache({ max: size });
  }

  /** Attempts counted for `key` in the window that started at most `windowMs` ago, plus those under way: what a limit compares. */
  count(key: string, windowMs: number, now = Date.now()): number {
    return this.counted(key, windowMs, now) + (this.underWayByKey.get(key) ?? 0);
  }

  /** Only the attempts counted with `hit` in the window, not those under way. */
  counted(key: string, windowMs: number, now = Date.now()): number {
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

  /** Runs `work` (what decides an attempt) with the attempt counted as under way for `key` meanwhile. */
  async underWay<T>(key: string, work: () => Promise<T>): Promise<T> {
    this.underWayByKey.set(key, (this.underWayByKey.get(key) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = this.underWayByKey.get(key)! - 1;
      if (left === 0) this.underWayByKey.delete(key);
      else this.underWayByKey.set(key, left);
    }
  }
}
