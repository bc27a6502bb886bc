/**
 * A time budget per event-loop turn for work that arrives in bursts.
 *
 * Work runs at once while the current turn has spent less than `sliceMs` since its first piece;
 * after that, pieces wait in order and run in the following turns, a slice per turn. So a burst
 * (800 agents saying hello in the same instant) no longer holds the loop for its whole length:
 * timers, requests and the broker's own reading get a turn between slices.
 *
 * The wait is bounded: beyond `maxWaiting` pieces the oldest run at once, in order, so under
 * sustained overload the caller is slowed (and the broker pushes back on its clients) rather than
 * the queue growing without end.
 */
export class TurnBudget {
  private waiting: Array<() => void> = [];
  private head = 0;
  /** `now()` at this turn's first piece; -1 until one runs. */
  private sliceStart = -1;
  private next: NodeJS.Immediate | null = null;

  constructor(
    private readonly sliceMs: number,
    private readonly maxWaiting: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(sliceMs > 0)) throw new Error(`turn budget: sliceMs must be > 0, got ${sliceMs}`);
    if (!Number.isInteger(maxWaiting) || maxWaiting < 1) throw new Error(`turn budget: maxWaiting must be a positive integer, got ${maxWaiting}`);
  }

  /** Pieces queued for a later turn. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** True when a piece may run now: nothing waits before it and this turn's slice has time left. */
  mayRunNow(): boolean {
    return this.queued === 0 && this.inSlice();
  }

  /** Queues a piece for a later turn (call when `mayRunNow()` said no). */
  defer(piece: () => void): void {
    this.waiting.push(piece);
    this.schedule();
    while (this.queued > this.maxWaiting) this.runOldest();
  }

  /** Drops what waits (on stop); returns how many pieces were dropped. */
  clear(): number {
    const dropped = this.queued;
    if (this.next) clearImmediate(this.next);
    this.next = null;
    this.waiting = [];
    this.head = 0;
    this.sliceStart = -1;
    return dropped;
  }

  private inSlice(): boolean {
    const now = this.now();
    if (this.sliceStart < 0) {
      // The slice ends with this turn: the next one starts a fresh slice.
      this.sliceStart = now;
      this.schedule();
      return true;
    }
    return now - this.sliceStart < this.sliceMs;
  }

  private schedule(): void {
    this.next ??= setImmediate(this.nextTurn);
  }

  private readonly nextTurn = (): void => {
    this.next = null;
    this.sliceStart = -1;
    while (this.queued > 0 && this.inSlice()) this.runOldest();
    if (this.queued > 0) this.schedule();
  };

  private runOldest(): void {
    const piece = this.waiting[this.head]!;
    this.head++;
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    piece();
  }
}
