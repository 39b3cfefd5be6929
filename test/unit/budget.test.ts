// BudgetQueue (src/net/budget.ts): bursts of work done a slice per event-loop turn. Every item
// runs once, in order; a throwing item is reported and the rest still run; drainAll runs what is
// left at once. With a budget of 0 each turn runs exactly one item, which shows the slicing
// without timing anything.
import { describe, expect, it } from 'vitest';
import { BudgetQueue } from '../../src/net/budget.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('BudgetQueue', () => {
  it('runs every item once, in order, one turn at a time when the budget is spent', async () => {
    const ran: number[] = [];
    const q = new BudgetQueue<number>((n) => void ran.push(n), 0, () => {});
    for (let i = 0; i < 5; i++) q.push(i);
    expect(ran).toEqual([]);
    await turn();
    expect(ran).toEqual([0]);
    await turn();
    expect(ran).toEqual([0, 1]);
    q.push(5);
    for (let i = 0; i < 4; i++) await turn();
    expect(ran).toEqual([0, 1, 2, 3, 4, 5]);
    expect(q.length).toBe(0);
  });

  it('runs one slice a turn even when items push more items as they run', async () => {
    const ran: number[] = [];
    // Each item queues a follow-up (as a close queues its finish): still one item a turn.
    const q: BudgetQueue<number> = new BudgetQueue<number>((n) => {
      ran.push(n);
      if (n < 100) q.push(n + 100);
    }, 0, () => {});
    for (let i = 0; i < 3; i++) q.push(i);
    for (let t = 1; t <= 6; t++) {
      await turn();
      expect(ran).toHaveLength(t);
    }
    expect(ran).toEqual([0, 1, 2, 100, 101, 102]);
  });

  it('runs at most maxPerTurn items a turn, and drainAll all of them', async () => {
    const ran: number[] = [];
    const q = new BudgetQueue<number>((n) => void ran.push(n), 1000, () => {}, 2);
    for (let i = 0; i < 7; i++) q.push(i);
    await turn();
    expect(ran).toEqual([0, 1]);
    await turn();
    expect(ran).toEqual([0, 1, 2, 3]);
    q.drainAll();
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('reports a throwing item and goes on with the others', async () => {
    const ran: number[] = [];
    const errors: unknown[] = [];
    const q = new BudgetQueue<number>(
      (n) => {
        if (n === 1) throw new Error('boom');
        ran.push(n);
      },
      1000,
      (err) => errors.push(err),
    );
    [0, 1, 2].forEach((n) => q.push(n));
    await turn();
    expect(ran).toEqual([0, 2]);
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom']);
  });

  it('drainAll runs everything left at once, and a later turn finds nothing to do', async () => {
    const ran: number[] = [];
    const q = new BudgetQueue<number>((n) => void ran.push(n), 0, () => {});
    for (let i = 0; i < 4; i++) q.push(i);
    q.drainAll();
    expect(ran).toEqual([0, 1, 2, 3]);
    await turn();
    expect(ran).toEqual([0, 1, 2, 3]);
  });
});
