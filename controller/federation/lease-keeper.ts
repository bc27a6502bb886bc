/**
 * Keeps this controller's lease and its partitions (lease.ts decides, ownership-rows.ts writes):
 * every `renewMs` it renews the lease, reads the leases and the partition rows, applies its
 * ownership steps as conditional updates, and tells listeners which partitions it gained and lost.
 * When it cannot renew it keeps what it owns until `fenceAt` on its own steady clock, then owns
 * nothing (self-fencing): by then no other controller may have claimed them yet.
 */
import { LEASE_TIMES, fenceAt, liveControllers, mayAct, ownedEpochs, ownershipChange, ownershipSteps, type LeaseTimes, type PartitionOwner, type SelfFence } from './lease.js';
import { ownerOf } from './rendezvous.js';
import { applyOwnershipStep, dropLease, ensurePartitions, readOwnership, renewLease, type Queryable } from './ownership-rows.js';

export interface OwnershipChange {
  /** Partitions this controller owns now and did not (or at another epoch): their nodes start afresh. */
  gained: number[];
  /** Partitions it no longer acts for: in-flight actions on their nodes are aborted. */
  lost: number[];
  /** Of `gained`: the controller that owned the partition before, where this one saw it (consoles log the handover). */
  from: ReadonlyMap<number, string>;
  /** Of `lost`: the controller that owns it now or is to, where known (not when fenced). */
  to: ReadonlyMap<number, string>;
}

export interface LeaseKeeperOptions {
  db: Queryable;
  /** This controller's id (config `federation.id`). */
  controller: string;
  /** How many partitions the site has (config `federation.partitions`). */
  partitions: number;
  times?: LeaseTimes;
  /** Steady clock, ms: fencing is judged on it. */
  steady?: () => number;
  /** Wall clock, ms: when the last renewal was sent, for people. */
  wall?: () => number;
  /** A round failed (database out of reach): the keeper carries on and fences itself in time. */
  onError?: (err: Error) => void;
  /** Its fence time came without a renewal: it now acts for nothing (`renewedAt`: the last confirmed renewal). */
  onFenced?: (renewedAt: string | null) => void;
}

export class LeaseKeeper {
  readonly controller: string;
  private readonly times: LeaseTimes;
  private readonly steady: () => number;
  private readonly wall: () => number;
  /** Partition → epoch this controller acts for. */
  private owned = new Map<number, number>();
  /** The partition rows as last read, for telling who owns what without asking the database. */
  private rows: PartitionOwner[] = [];
  /** Partition → the last other controller seen owning it: a partition released before it is claimed has no owner in its row. */
  private readonly lastOtherOwner = new Map<number, string>();
  /** Partition → the controller a partition being released goes to (rendezvous), for the round's change. */
  private releasedTo = new Map<number, string | null>();
  /** Steady time at which the last confirmed renewal was sent; null: none yet. */
  private renewSentAt: number | null = null;
  private renewSentWall: number | null = null;
  private readonly listeners: Array<(change: OwnershipChange) => void> = [];
  private round: Promise<void> | null = null;
  /** Rounds begun: a round abandoned after its deadline must not change anything when it ends. */
  private rounds = 0;
  private timer: NodeJS.Timeout | null = null;
  private fenceTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: LeaseKeeperOptions) {
    this.controller = opts.controller;
    this.times = opts.times ?? LEASE_TIMES;
    this.steady = opts.steady ?? (() => performance.now());
    this.wall = opts.wall ?? Date.now;
  }

  /** Makes the partition rows if needed and runs the first round (its failure is thrown). */
  async open(): Promise<void> {
    await ensurePartitions(this.opts.db, this.opts.partitions);
    await this.roundOrThrow(++this.rounds);
  }

  /**
   * Rounds every `renewMs` from now on, at a fixed rate: a slow round (a loaded machine, a slow
   * database) does not push the later ones back, so a dead controller's partitions are still
   * claimed within ttl + renew. A round that overran its slot skips the slots it missed.
   */
  run(): void {
    const { renewMs } = this.times;
    const origin = performance.now();
    const next = () => {
      const elapsed = performance.now() - origin;
      this.timer = setTimeout(() => void this.tick().finally(() => !this.stopped && next()), (Math.floor(elapsed / renewMs) + 1) * renewMs - elapsed);
      this.timer.unref();
    };
    next();
  }

  /**
   * One round: renew, read, apply the steps. A failure is told to `onError`; a round still running
   * after `ttlMs` is abandoned (a connection that hangs), and the next one starts afresh.
   */
  tick(): Promise<void> {
    if (this.round) return this.round;
    const id = ++this.rounds;
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error(`federation: lease round of ${this.controller} did not finish within ${this.times.ttlMs} ms`)), this.times.ttlMs);
    });
    this.round = Promise.race([this.roundOrThrow(id), timedOut])
      .catch((err: Error) => this.opts.onError?.(err))
      .finally(() => {
        clearTimeout(deadline);
        this.round = null;
      });
    return this.round;
  }

  private async roundOrThrow(id: number): Promise<void> {
    const { db } = this.opts;
    const current = () => id === this.rounds && !this.stopped;
    const sentAt = this.steady();
    const sentWall = this.wall();
    await renewLease(db, this.controller, this.times.ttlMs);
    if (!current()) return;
    if (this.renewSentAt === null || sentAt > this.renewSentAt) {
      this.renewSentAt = sentAt;
      this.renewSentWall = sentWall;
      this.armFence();
    }
    const read = await readOwnership(db);
    if (!current()) return;
    this.noteOwners(read.partitions);
    const steps = ownershipSteps(this.controller, read.partitions, read.leases, read.dbNow);
    // A partition handed over stops being acted on before its row says so.
    const released = steps.filter((s) => s.kind === 'release').map((s) => s.partition);
    if (released.length) {
      const live = liveControllers(read.leases, read.dbNow);
      this.releasedTo = new Map(released.map((p) => [p, ownerOf(p, live)]));
      this.setOwned(new Map([...this.owned].filter(([p]) => !released.includes(p))));
      this.releasedTo = new Map();
    }
    for (const step of steps) await applyOwnershipStep(db, this.controller, step);
    const rows = steps.length ? (await readOwnership(db)).partitions : read.partitions;
    if (!current()) return;
    this.rows = rows;
    this.noteOwners(rows);
    this.setOwned(this.mayAct() ? ownedEpochs(this.controller, rows) : new Map());
  }

  /** Told of every change in what this controller acts for. */
  onChange(listener: (change: OwnershipChange) => void): void {
    this.listeners.push(listener);
  }

  /** Whether this controller may act now by its own clock (lease.ts `mayAct`). */
  mayAct(): boolean {
    return mayAct(this.steady(), this.renewSentAt, this.times);
  }

  /** Whether it may act, and since when its lease was last renewed: for a refusal's reason. */
  selfFence(): SelfFence {
    return { mayAct: this.mayAct(), renewedAt: this.renewSentWall === null ? null : new Date(this.renewSentWall).toISOString() };
  }

  /** The epoch this controller acts for `partition` at, or null when it does not (another owns it, or it is fenced). */
  epochOf(partition: number): number | null {
    return this.mayAct() ? (this.owned.get(partition) ?? null) : null;
  }

  /** Partition → epoch, of every partition this controller acts for now. */
  ownedPartitions(): ReadonlyMap<number, number> {
    return this.mayAct() ? new Map(this.owned) : new Map();
  }

  /** The partition's row as last read (null before the first read). */
  rowOf(partition: number): PartitionOwner | null {
    return this.rows[partition] ?? null;
  }

  /** Stops the rounds, gives up every partition and drops the lease, so others claim them at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    await this.round;
    this.setOwned(new Map());
    await dropLease(this.opts.db, this.controller).catch((err: Error) => this.opts.onError?.(err));
  }

  /** At the fence time of the last confirmed renewal, owning nothing unless a later one moved it. */
  private armFence(): void {
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    this.fenceTimer = setTimeout(() => this.checkFence(), Math.max(0, fenceAt(this.renewSentAt, this.times) - this.steady()));
    this.fenceTimer.unref();
  }

  /** Fenced: acts for nothing until a renewal goes through again. A timer that fired early looks again. */
  checkFence(): void {
    if (this.mayAct()) return this.armFence();
    if (this.owned.size === 0) return;
    this.setOwned(new Map());
    this.opts.onFenced?.(this.selfFence().renewedAt);
  }

  private noteOwners(rows: readonly PartitionOwner[]): void {
    for (const r of rows) if (r.owner !== null && r.owner !== this.controller) this.lastOtherOwner.set(r.partition, r.owner);
  }

  private setOwned(next: Map<number, number>): void {
    const { gained, lost } = ownershipChange(this.owned, next);
    this.owned = next;
    if (gained.length === 0 && lost.length === 0) return;
    const others = (ps: number[], owner: (p: number) => string | null | undefined) =>
      new Map(ps.flatMap((p) => ((o) => (o && o !== this.controller ? [[p, o] as const] : []))(owner(p))));
    const from = others(gained, (p) => this.lastOtherOwner.get(p));
    const to = others(lost, (p) => this.releasedTo.get(p) ?? this.rows[p]?.owner);
    for (const listener of this.listeners) listener({ gained, lost, from, to });
  }
}
