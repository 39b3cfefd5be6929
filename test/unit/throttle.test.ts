import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectThrottle } from '../../src/net/throttle.js';

const rate = { count: 3, seconds: 6 }; // 3 at once, then one every 2 s

describe('ConnectThrottle', () => {
  it('allows `count` connections at once, then refills at count per seconds', () => {
    const t = new ConnectThrottle(100);
    expect([0, 0, 0, 0].map((dt) => t.allow('192.0.2.1', rate, 1000 + dt))).toEqual([true, true, true, false]);
    expect(t.allow('192.0.2.1', rate, 2900)).toBe(false); // 1.9 s: not yet a whole token
    expect(t.allow('192.0.2.1', rate, 3000)).toBe(true);
    expect(t.allow('192.0.2.1', rate, 3000)).toBe(false);
    // A long pause refills to `count`, never beyond.
    expect([0, 0, 0, 0].map(() => t.allow('192.0.2.1', rate, 1_000_000))).toEqual([true, true, true, false]);
  });

  it('keeps IPs apart', () => {
    const t = new ConnectThrottle(100);
    for (let i = 0; i < 3; i++) t.allow('192.0.2.1', rate, 0);
    expect(t.allow('192.0.2.1', rate, 0)).toBe(false);
    expect(t.allow('192.0.2.2', rate, 0)).toBe(true);
  });

  it('remembers at most maxIps addresses however many connect', () => {
    fc.assert(
      fc.property(fc.array(fc.ipV4(), { maxLength: 500 }), fc.integer({ min: 1, max: 50 }), (ips, max) => {
        const t = new ConnectThrottle(max);
        for (const ip of ips) t.allow(ip, rate, 0);
        expect(t.size).toBeLessThanOrEqual(max);
      }),
    );
  });

  it('never allows more than count plus the refill over any span', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 200 }), (gaps) => {
        const t = new ConnectThrottle(10);
        let now = 0;
        let allowed = 0;
        for (const gap of gaps) {
          now += gap;
          if (t.allow('198.51.100.7', rate, now)) allowed++;
        }
        expect(allowed).toBeLessThanOrEqual(rate.count + Math.floor((now / 1000) * (rate.count / rate.seconds)));
      }),
    );
  });
});
