import { describe, expect, it } from 'vitest';
import { TurnBudget } from '../../controller/turn-budget.js';

/** One loop turn: the budget's own immediate (queued earlier) runs before this one resolves. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A budget on a hand-driven clock, and pieces that each take `costMs` of it and log their id. */
function setup(sliceMs: number, maxWaiting: number, costMs: number) {
  const clock = { t: 0 };
  const budget = new TurnBudget(sliceMs, maxWaiting, () => clock.t);
  const ran: number[] = [];
  const piece = (id: number) => () => {
    ran.push(id);
    clock.t += costMs;
  };
  /** What a caller does per message: run it now if the budget allows, else defer it. */
  const offer = (id: number) => (budget.mayRunNow() ? piece(id)() : budget.defer(piece(id)));
  return { clock, budget, ran, offer };
}

describe('TurnBudget', () => {
  it('runs pieces at once until the turn has spent its slice, then defers the rest in order', async () => {
    const { budget, ran, offer } = setup(10, 100, 4);
    for (let id = 1; id <= 10; id++) offer(id);
    // 0, 4 and 8 ms are inside the 10 ms slice; at 12 ms the slice is spent.
    expect(ran).toEqual([1, 2, 3]);
    expect(budget.queued).toBe(7);
    const perTurn: number[][] = [];
    while (budget.queued > 0) {
      const before = ran.length;
      await nextTurn();
      perTurn.push(ran.slice(before));
    }
    expect(perTurn).toEqual([[4, 5, 6], [7, 8, 9], [10]]);
  });

  it('defers a piece while others wait, even in a fresh turn: order is kept', async () => {
    const { budget, ran, offer } = setup(10, 100, 6);
    for (let id = 1; id <= 4; id++) offer(id); // 1 and 2 run (0, 6 ms), 3 and 4 wait
    expect(ran).toEqual([1, 2]);
    await nextTurn(); // 3 and 4 run in this turn's slice
    expect(ran).toEqual([1, 2, 3, 4]);
    offer(5); // the slice of this turn is spent (12 ms): 5 waits for the next
    expect(ran).toEqual([1, 2, 3, 4]);
    expect(budget.mayRunNow()).toBe(false);
    await nextTurn();
    expect(ran).toEqual([1, 2, 3, 4, 5]);
    expect(budget.queued).toBe(0);
    await nextTurn();
    expect(budget.mayRunNow()).toBe(true); // a new turn, a fresh slice
  });

  it('runs the oldest waiting pieces at once when more than maxWaiting wait', () => {
    const { budget, ran, offer } = setup(10, 5, 10);
    offer(1); // runs; the slice is spent
    for (let id = 2; id <= 9; id++) offer(id);
    // 8 deferred, at most 5 may wait: the 3 oldest ran, in order, during the defers.
    expect(ran).toEqual([1, 2, 3, 4]);
    expect(budget.queued).toBe(5);
  });

  it('keeps the order across the compaction of a long queue', async () => {
    const { budget, ran, offer } = setup(1, 10_000, 0.001);
    offer(0);
    for (let id = 1; id <= 5000; id++) budget.defer(() => ran.push(id));
    expect(budget.queued).toBe(5000);
    while (budget.queued > 0) await nextTurn();
    expect(ran).toEqual(Array.from({ length: 5001 }, (_, i) => i));
    offer(5001);
    expect(ran.at(-1)).toBe(5001);
  });

  it('clear drops what waits, returns how many, and nothing of it runs later', async () => {
    const { budget, ran, offer } = setup(10, 100, 10);
    for (let id = 1; id <= 4; id++) offer(id);
    expect(budget.clear()).toBe(3);
    await nextTurn();
    await nextTurn();
    expect(ran).toEqual([1]);
    expect(budget.queued).toBe(0);
  });

  it('refuses a budget that could never run anything', () => {
    expect(() => new TurnBudget(0, 10)).toThrow('turn budget: sliceMs must be > 0, got 0');
    expect(() => new TurnBudget(10, 0)).toThrow('turn budget: maxWaiting must be a positive integer, got 0');
    expect(() => new TurnBudget(10, 1.5)).toThrow('maxWaiting must be a positive integer, got 1.5');
  });
});
