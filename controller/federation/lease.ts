/**
 * Ownership of partitions by leases and epochs, as decisions over plain data (no I/O): the rows a
 * controller read from the shared database, the database's clock, and its own steady clock.
 *
 * - Each controller holds a lease, renewed every `renewMs` and expiring `ttlMs` after the database
 *   handled the renewal, by the database's clock (one clock for every controller to judge by).
 * - Live controllers share the partitions by rendezvous hashing (rendezvous.ts). A controller
 *   claims a partition it should own when nobody owns it or its owner's lease has expired; a claim
 *   raises the partition's epoch. It releases one a live controller now outweighs it for.
 * - A power action goes out only while the partition's row names this controller at the epoch it
 *   claimed, and its own lease holds (`actionRefusal`).
 * - Self-fencing: a controller stops acting `marginMs` before its lease can have expired, judged
 *   on its own steady clock from when it *sent* its last confirmed renewal (the database handled it
 *   later, so the lease runs at least that long): by the time another controller may claim its
 *   partitions, it has stopped.
 */
import { ownerOf } from './rendezvous.js';

export interface LeaseTimes {
  /** How often a controller renews its lease. */
  renewMs: number;
  /** How long a lease lasts after the database handled its renewal. */
  ttlMs: number;
  /** How long before its lease can expire a controller that cannot renew stops acting. */
  marginMs: number;
}

/** ~2 s renewals, ~8 s expiry: a dead controller's partitions are claimed within ttl + renew, 10 s. */
export const LEASE_TIMES: LeaseTimes = { renewMs: 2000, ttlMs: 8000, marginMs: 1000 };

/** A controller's lease as the database holds it. */
export interface Lease {
  controller: string;
  /** Database clock, ms. */
  expiresAt: number;
}

/** A partition's row: who owns it (null: nobody) and its epoch, raised by every claim. */
export interface PartitionOwner {
  partition: number;
  owner: string | null;
  epoch: number;
}

/**
 * A change to the partition table, to apply as a conditional update (only if the row still holds
 * `epoch` and, for a release, this controller as owner), so that of two controllers deciding at
 * once only one wins.
 */
export type OwnershipStep =
  /** Take the partition from `from` (null: unowned; else a controller whose lease expired) at `epoch + 1`. */
  | { kind: 'claim'; partition: number; from: string | null; epoch: number }
  /** Give the partition up (a live controller outweighs this one for it); the epoch stays. */
  | { kind: 'release'; partition: number; epoch: number };

/** The controllers whose lease holds at `dbNow`, sorted. */
export function liveControllers(leases: readonly Lease[], dbNow: number): string[] {
  return leases
    .filter((l) => l.expiresAt > dbNow)
    .map((l) => l.controller)
    .sort();
}

/**
 * What `self` does about ownership now, from the partition rows and leases read at `dbNow`
 * (database clock). Nothing when its own lease does not hold: it renews first.
 */
export function ownershipSteps(self: string, partitions: readonly PartitionOwner[], leases: readonly Lease[], dbNow: number): OwnershipStep[] {
  const live = liveControllers(leases, dbNow);
  if (!live.includes(self)) return [];
  const steps: OwnershipStep[] = [];
  for (const row of partitions) {
    const wanted = ownerOf(row.partition, live);
    if (row.owner === self) {
      if (wanted !== self && wanted !== null) steps.push({ kind: 'release', partition: row.partition, epoch: row.epoch });
    } else if (wanted === self && (row.owner === null || !live.includes(row.owner))) {
      steps.push({ kind: 'claim', partition: row.partition, from: row.owner, epoch: row.epoch });
    }
  }
  return steps;
}

/** The partition row after `step`, applied to `row` (the conditional update's effect; null: the row changed since, the step loses). */
export function applyStep(self: string, row: PartitionOwner, step: OwnershipStep): PartitionOwner | null {
  if (row.partition !== step.partition || row.epoch !== step.epoch) return null;
  if (step.kind === 'claim') return row.owner === step.from ? { partition: row.partition, owner: self, epoch: row.epoch + 1 } : null;
  return row.owner === self ? { ...row, owner: null } : null;
}

/**
 * The steady-clock instant after which a controller must not act: its last confirmed renewal was
 * sent at `renewSentAt` (steady clock); null (never confirmed): it may not act at all.
 */
export function fenceAt(renewSentAt: number | null, times: LeaseTimes = LEASE_TIMES): number {
  return renewSentAt === null ? -Infinity : renewSentAt + times.ttlMs - times.marginMs;
}

/** Whether a controller whose last confirmed renewal was sent at `renewSentAt` may still act at `now` (steady clock). */
export function mayAct(now: number, renewSentAt: number | null, times: LeaseTimes = LEASE_TIMES): boolean {
  return now < fenceAt(renewSentAt, times);
}

/** What a power action on `node` claims: this controller owns the node's partition at this epoch. */
export interface ActionClaim {
  node: string;
  controller: string;
  partition: number;
  epoch: number;
}

/** Whether this controller may act by its own clock, and when it sent its last confirmed renewal (wall time, for people). */
export interface SelfFence {
  mayAct: boolean;
  /** ISO time of the last confirmed renewal's sending; null: never renewed. */
  renewedAt: string | null;
}

/**
 * Why the action of `claim` must not reach the BMC, or null when it may: the partition's row as
 * the database holds it at the conditional insert, whether the controller's lease holds there (by
 * the database's clock), and whether it may act by its own (`mayAct`). The reason completes
 * `node n012: power cycle refused: …` (`refusalMessage`).
 */
export function actionRefusal(claim: ActionClaim, row: PartitionOwner, leaseHolds: boolean, self: SelfFence): string | null {
  if (!self.mayAct) return `this controller is fenced (lease not renewed since ${self.renewedAt ?? 'it started'})`;
  if (row.partition !== claim.partition) return `the node is in partition ${row.partition}, not ${claim.partition}`;
  if (row.owner !== claim.controller) return `partition ${row.partition} is owned by ${row.owner ?? 'nobody'} (epoch ${row.epoch})`;
  if (row.epoch !== claim.epoch) return `partition ${row.partition} was claimed again (epoch ${row.epoch}, this controller holds epoch ${claim.epoch})`;
  if (!leaseHolds) return `the lease of controller ${claim.controller} has expired`;
  return null;
}

/** The error text of a refused action: `what` names it (`power cycle`, `boot device pxe`). */
export function refusalMessage(node: string, what: string, reason: string): string {
  return `node ${node}: ${what} refused: ${reason}`;
}

/** The partitions `self` owns in `rows`: partition → epoch. */
export function ownedEpochs(self: string, rows: readonly PartitionOwner[]): Map<number, number> {
  return new Map(rows.filter((r) => r.owner === self).map((r) => [r.partition, r.epoch]));
}

/**
 * What changed in what a controller owns: partition → epoch, before and after reading the table.
 * `gained`: its nodes start their timers afresh and have no power corrected; `lost`: its in-flight
 * actions are aborted. A partition claimed again (its epoch changed) is both: lost, then gained.
 */
export function ownershipChange(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): { gained: number[]; lost: number[] } {
  const gained = [...after].filter(([p, e]) => before.get(p) !== e).map(([p]) => p);
  const lost = [...before].filter(([p, e]) => after.get(p) !== e).map(([p]) => p);
  return { gained: gained.sort((a, b) => a - b), lost: lost.sort((a, b) => a - b) };
}
