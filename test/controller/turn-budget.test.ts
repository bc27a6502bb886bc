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

  it('defers a piece while others wait, whatever the slice says: order is kept', async () => {
    const { clock, budget, ran, offer } = setup(10, 100, 6);
    for (let id = 1; id <= 4; id++) offer(id); // 1 and 2 run (0, 6 ms), 3 and 4 wait
    expect(ran).toEqual([1, 2]);
    clock.t += 100; // long after: a fresh slice would have time, but 3 and 4 come first
    offer(5);
    expect(ran).toEqual([1, 2]);
    expect(budget.mayRunNow()).toBe(false);
    await nextTurn(); // a fresh slice: 3 and 4 take 12 ms of it, so 5 waits one more turn
    expect(ran).toEqual([1, 2, 3, 4]);
    await nextTurn();
    expect(ran).toEqual([1, 2, 3, 4, 5]);
    expect(budget.queued).toBe(0);
  });

  it('at a steady trickle holds back one piece per slice, for one turn', async () => {
    // One cheap piece per turn, 3 ms apart: a slice is not renewed by each turn (that would take an
    // immediate per piece); it runs on until spent, then the next piece waits for the immediate.
    const { clock, budget, ran, offer } = setup(10, 100, 0);
    const heldBack: number[] = [];
    for (let id = 0; id < 20; id++) {
      offer(id);
      if (!ran.includes(id)) heldBack.push(id);
      await nextTurn();
      expect(ran.at(-1)).toBe(id); // run by the end of its turn, either way
      clock.t += 3;
    }
    // Slices start at 0, 12, 24, 36, 48 ms: the piece at each of 12, 24, 36, 48 waited.
    expect(heldBack).toEqual([4, 8, 12, 16]);
    expect(budget.queued).toBe(0);
  });

  it('runs the oldest waiting pieces at once when more than maxWeight waits', () => {
    const { budget, ran, offer } = setup(10, 5, 10);
    offer(1); // runs; the slice is spent
    for (let id = 2; id <= 9; id++) offer(id);
    // 8 deferred of weight 1, at most 5 may wait: the 3 oldest ran, in order, during the defers.
    expect(ran).toEqual([1, 2, 3, 4]);
    expect(budget.queued).toBe(5);
  });

  it('weighs each piece as the caller says (ingest: bytes), so a few heavy pieces reach the bound', () => {
    const { budget, ran, offer } = setup(10, 1000, 10);
    offer(0); // the slice is spent
    const heavy = (id: number) => budget.defer(() => ran.push(id), 400);
    heavy(1);
    heavy(2);
    expect(ran).toEqual([0]); // 800 of 1000 wait
    heavy(3); // 1200: the oldest runs, 800 wait
    expect(ran).toEqual([0, 1]);
    for (let id = 4; id <= 203; id++) budget.defer(() => ran.push(id)); // 200 light ones: 1000
    expect(ran).toEqual([0, 1]);
    budget.defer(() => ran.push(204), 1); // 1001: piece 2 (400) runs
    expect(ran).toEqual([0, 1, 2]);
    expect(budget.queued).toBe(202);
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
    expect(() => new TurnBudget(10, 0)).toThrow('turn budget: maxWeight must be > 0, got 0');
    expect(() => new TurnBudget(Number.NaN, 10)).toThrow('turn budget: sliceMs must be > 0, got NaN');
  });
});
