// The per-IP connection rate limit ([[class]] connect_rate): a token bucket per IP holding up to
// `count` connections, refilled at `count` per `seconds`. Buckets live in an LRU bounded by
// limits.connect_rate_ips, so clients with many addresses cannot grow it without bound (at worst
// they push out older buckets, letting those IPs start afresh).
import { LRUCache } from 'lru-cache';

export interface ConnectRate {
  count: number;
  seconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class ConnectThrottle {
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(readonly maxIps: number) {
    this.buckets = new LRUCache({ max: maxIps });
  }

  /** Whether a new connection from `ip` is within `rate` now; an allowed one uses a token. */
  allow(ip: string, rate: ConnectRate, now = Date.now()): boolean {
    const bucket = this.buckets.get(ip);
    if (!bucket) {
      this.buckets.set(ip, { tokens: rate.count - 1, at: now });
      return true;
    }
    bucket.tokens = Math.min(rate.count, bucket.tokens + ((now - bucket.at) / 1000) * (rate.count / rate.seconds));
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}
