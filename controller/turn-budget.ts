/**
 * A time budget per event-loop turn for work that arrives in bursts.
 *
 * Work runs at once while less than `sliceMs` has passed since the slice's first piece; after
 * that, pieces wait in order and run in the following turns, a slice per turn. So a burst (800
 * agents saying hello in the same instant) does not hold the loop for its whole length: timers,
 * requests and the broker's own reading get a turn between slices.
 *
 * A turn's end is only seen when an immediate runs, and one per turn would cost a loop iteration
 * per heartbeat at steady state. So a slice runs on until it is spent, in whatever turn; then the
 * next piece waits for an immediate, which starts a fresh slice. At steady state that is one
 * piece held back for part of a turn per `sliceMs`.
 *
 * The wait is bounded: each piece has a weight (ingest: its payload's bytes), and beyond
 * `maxWeight` waiting the oldest run at once, in order. Under sustained overload the caller is
 * slowed (and the broker pushes back on its clients) rather than the queue growing without end.
 */
export class TurnBudget {
  private pieces: Array<() => void> = [];
  private weights: number[] = [];
  private head = 0;
  private waitingWeight = 0;
  /** `now()` at the slice's first piece; -1 until one runs after an immediate. */
  private sliceStart = -1;
  private next: NodeJS.Immediate | null = null;

  constructor(
    private readonly sliceMs: number,
    private readonly maxWeight: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(sliceMs > 0)) throw new Error(`turn budget: sliceMs must be > 0, got ${sliceMs}`);
    if (!(maxWeight > 0)) throw new Error(`turn budget: maxWeight must be > 0, got ${maxWeight}`);
  }

  /** Pieces queued for a later turn. */
  get queued(): number {
    return this.pieces.length - this.head;
  }

  /** True when a piece may run now: nothing waits before it and the slice has time left. */
  mayRunNow(): boolean {
    return this.queued === 0 && this.inSlice();
  }

  /** Queues a piece for a later turn (call when `mayRunNow()` said no). */
  defer(piece: () => void, weight = 1): void {
    this.pieces.push(piece);
    this.weights.push(weight);
    this.waitingWeight += weight;
    this.schedule();
    while (this.waitingWeight > this.maxWeight) this.runOldest();
  }

  /** Drops what waits (on stop); returns how many pieces were dropped. */
  clear(): number {
    const dropped = this.queued;
    if (this.next) clearImmediate(this.next);
    this.next = null;
    this.pieces = [];
    this.weights = [];
    this.head = 0;
    this.waitingWeight = 0;
    this.sliceStart = -1;
    return dropped;
  }

  private inSlice(): boolean {
    const now = this.now();
    if (this.sliceStart < 0) this.sliceStart = now;
    if (now - this.sliceStart < this.sliceMs) return true;
    // Spent, in this turn or over several: the next turn (the immediate) starts a fresh slice.
    this.schedule();
    return false;
  }

  private schedule(): void {
    this.next ??= setImmediate(this.nextTurn);
  }

  private readonly nextTurn = (): void => {
    this.next = null;
    this.sliceStart = -1;
    // A spent slice schedules the next turn itself.
    while (this.queued > 0 && this.inSlice()) this.runOldest();
  };

  private runOldest(): void {
    const piece = this.pieces[this.head]!;
    this.waitingWeight -= this.weights[this.head]!;
    this.head++;
    if (this.head === this.pieces.length) {
      this.pieces = [];
      this.weights = [];
      this.head = 0;
      this.waitingWeight = 0; // no float residue once empty
    } else if (this.head >= 1024 && this.head * 2 >= this.pieces.length) {
      this.pieces = this.pieces.slice(this.head);
      this.weights = this.weights.slice(this.head);
      this.head = 0;
    }
    piece();
  }
}
