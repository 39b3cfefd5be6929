import { describe, expect, it } from 'vitest';
import { AttemptCounter } from '../../src/auth/attempts.js';

describe('AttemptCounter', () => {
  it('counts hits within the window and starts over after it', () => {
    const a = new AttemptCounter(10);
    a.hit('ip', 1000, 0);
    a.hit('ip', 1000, 500);
    expect(a.count('ip', 1000, 999)).toBe(2);
    expect(a.count('ip', 1000, 1000)).toBe(0);
    expect(a.hit('ip', 1000, 1000)).toBe(1);
  });

  it('counts attempts under way in `count` but not in `counted`, until they finish', async () => {
    const a = new AttemptCounter(10);
    let finish!: () => void;
    const running = a.underWay('ip', () => new Promise<void>((r) => (finish = r)));
    const failing = a.underWay('ip', () => Promise.reject(new Error('hash failed')));
    expect(a.count('ip', 1000)).toBe(2);
    expect(a.counted('ip', 1000)).toBe(0);
    await expect(failing).rejects.toThrow('hash failed');
    expect(a.count('ip', 1000)).toBe(1);
    finish();
    await running;
    expect(a.count('ip', 1000)).toBe(0);
  });
});
