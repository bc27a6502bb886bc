/**
 * A discrete-event simulation of federation failover at any size (issue 24 point 5): N nodes in
 * the fixed partitions, C controllers renewing leases in one shared database and sharing the
 * partitions by rendezvous hashing, then one controller killed (or cut off from the database).
 * It runs muster's own decision core (controller/federation/: `partitionOf`, `ownershipSteps`,
 * `applyStep`, `fenceAt`), so its figures are those of the code, not of a model of it.
 *
 * What is modelled, per controller: a renewal timer every `renewMs` from a random phase, each
 * firing late by an exponential timer lateness; a database round trip (one-way latency: a floor
 * plus an exponential tail) in which the database renews the lease by its own clock and the
 * controller reads leases and partition rows; its ownership steps applied as conditional updates
 * one more one-way trip later (a row changed meanwhile makes the step lose, as in PostgreSQL); and
 * a steady clock running fast or slow by up to `driftPpm`, by which it fences itself.
 * What is not: the work after a claim (subscribing, loading the partition's nodes), which the
 * socket-level run measures.
 */
import { LEASE_TIMES, applyStep, fenceAt, ownershipSteps, type Lease, type LeaseTimes, type OwnershipStep, type PartitionOwner } from '../../controller/federation/lease.js';
import { PARTITION_COUNT, partitionOf } from '../../controller/federation/partitions.js';
import { shareOut } from '../../controller/federation/rendezvous.js';
import { seededRandom } from '../../shared/random.js';

export type Fault = 'kill' | 'cutoff';

export interface FailoverSimOptions {
  nodes: number;
  controllers: number;
  fault: Fault;
  trials: number;
  seed: number;
  partitions?: number;
  times?: LeaseTimes;
  /** One-way database latency: `floorMs` plus an exponential tail of mean `tailMeanMs`. */
  dbLatency?: { floorMs: number; tailMeanMs: number };
  /** Mean of the exponential lateness of a controller's renewal timer. */
  timerLatenessMeanMs?: number;
  /** A controller's steady clock runs at 1 ± up to this many parts per million. */
  driftPpm?: number;
}

/** One trial: which controller failed, what moved, and when each of its partitions was owned again. */
export interface FailoverTrial {
  failed: string;
  /** The failed controller's partitions and their nodes: what moved. */
  movedPartitions: number;
  movedNodes: number;
  /** Nodes of partitions whose owner changed although it did not fail (rendezvous hashing keeps this 0). */
  movedElsewhere: number;
  /** The most nodes one survivor took. */
  mostTakenByOne: number;
  /** Per moved partition: ms from the fault until a survivor's claim was applied; its node count beside. */
  ownedAgainMs: Array<{ ms: number; nodes: number }>;
  /** Cut-off only: ms from when the cut-off controller fenced itself (real time) to the first claim of one of its partitions; > 0 is safe. */
  fenceToFirstClaimMs: number | null;
}

export interface FailoverSimReport {
  options: Required<Omit<FailoverSimOptions, 'times' | 'dbLatency'>> & { times: LeaseTimes; dbLatency: { floorMs: number; tailMeanMs: number } };
  trials: FailoverTrial[];
  movedNodes: { mean: number; min: number; max: number; meanPercent: number };
  mostTakenByOne: number;
  movedElsewhere: number;
  /** Node-weighted: the time each moved node waited for a new owner. */
  nodeOwnedAgainMs: { p50: number; p90: number; p99: number; max: number };
  /** Per trial, the time until every moved partition had a new owner. */
  allOwnedAgainMs: { p50: number; p99: number; max: number };
  /** Cut-off only: the smallest fence-to-claim gap over all trials (null for kill). */
  minFenceToClaimMs: number | null;
}

const exponential = (random: () => number, mean: number) => -mean * Math.log(1 - random());

/** How many of `nodes` node names (n000001, n000002, …) fall in each partition. */
export function nodesPerPartition(nodes: number, partitions = PARTITION_COUNT): number[] {
  const counts = new Array<number>(partitions).fill(0);
  for (let i = 1; i <= nodes; i++) counts[partitionOf(`n${String(i).padStart(6, '0')}`, partitions)]!++;
  return counts;
}

interface SimController {
  id: string;
  /** Steady clock rate against real time. */
  rate: number;
  nextTick: number;
  alive: boolean;
  reachesDb: boolean;
  /** Steady-clock time it sent its last renewal the database confirmed (null: none yet). */
  confirmedSentAtSteady: number | null;
}

type SimEvent = { at: number; kind: 'tick'; c: SimController } | { at: number; kind: 'apply'; c: SimController; steps: OwnershipStep[] };

function runTrial(o: FailoverSimOptions & { times: LeaseTimes; dbLatency: { floorMs: number; tailMeanMs: number }; partitions: number; timerLatenessMeanMs: number; driftPpm: number }, counts: number[], random: () => number): FailoverTrial {
  const { renewMs, ttlMs } = o.times;
  const oneWay = () => o.dbLatency.floorMs + exponential(random, o.dbLatency.tailMeanMs);
  const ids = Array.from({ length: o.controllers }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
  const controllers = ids.map((id): SimController => {
    const phase = random() * renewMs;
    return { id, rate: 1 + (random() * 2 - 1) * o.driftPpm * 1e-6, nextTick: phase, alive: true, reachesDb: true, confirmedSentAtSteady: null };
  });
  // The steady state before the fault: every partition with its rendezvous owner, every lease renewed one period ago.
  const rows: PartitionOwner[] = new Array(o.partitions);
  for (const [owner, parts] of shareOut(o.partitions, ids)) for (const p of parts) rows[p] = { partition: p, owner, epoch: 1 };
  const leases = new Map<string, number>(controllers.map((c) => [c.id, c.nextTick - renewMs + ttlMs]));
  const before = rows.map((r) => r.owner);

  const failed = controllers[Math.floor(random() * controllers.length)]!;
  const faultAt = renewMs + random() * renewMs;
  const events: SimEvent[] = controllers.map((c) => ({ at: c.nextTick, kind: 'tick', c }));
  const claimedAt = new Map<number, number>();
  const theirs = rows.filter((r) => r.owner === failed.id).map((r) => r.partition);
  let faulted = false;
  const deadline = faultAt + 10 * ttlMs;

  while (claimedAt.size < theirs.length) {
    let next = 0;
    for (let i = 1; i < events.length; i++) if (events[i]!.at < events[next]!.at) next = i;
    const ev = events.splice(next, 1)[0]!;
    if (ev.at > deadline) throw new Error(`failover simulation: ${theirs.length - claimedAt.size} of ${failed.id}'s partitions still unowned ${10 * ttlMs} ms after the fault`);
    if (!faulted && ev.at >= faultAt) {
      faulted = true;
      if (o.fault === 'kill') failed.alive = false;
      else failed.reachesDb = false;
    }
    const c = ev.c;
    // A dead controller does nothing more; one cut off from the database reaches it no more, not even with a step already sent.
    if (!c.alive || (ev.kind === 'apply' && !c.reachesDb)) continue;
    if (ev.kind === 'tick') {
      events.push({ at: ev.at + renewMs + exponential(random, o.timerLatenessMeanMs), kind: 'tick', c });
      if (!c.reachesDb) continue;
      // The database renews by its clock, and in the same transaction the controller reads the table.
      const dbNow = ev.at + oneWay();
      leases.set(c.id, dbNow + ttlMs);
      c.confirmedSentAtSteady = ev.at * c.rate;
      const leaseRows: Lease[] = [...leases].map(([controller, expiresAt]) => ({ controller, expiresAt }));
      const steps = ownershipSteps(c.id, rows, leaseRows, dbNow);
      if (steps.length > 0) events.push({ at: dbNow + oneWay(), kind: 'apply', c, steps });
    } else {
      for (const step of ev.steps) {
        const after = applyStep(c.id, rows[step.partition]!, step);
        if (!after) continue;
        rows[step.partition] = after;
        if (after.owner !== null && before[step.partition] === failed.id && !claimedAt.has(step.partition)) claimedAt.set(step.partition, ev.at);
      }
    }
  }

  const nodesOf = (parts: Iterable<number>) => [...parts].reduce((sum, p) => sum + counts[p]!, 0);
  const taken = new Map<string, number>();
  for (const p of theirs) taken.set(rows[p]!.owner!, (taken.get(rows[p]!.owner!) ?? 0) + counts[p]!);
  const elsewhere = rows.filter((r) => before[r.partition] !== failed.id && r.owner !== before[r.partition]).map((r) => r.partition);
  // The cut-off controller stops acting once its steady clock reaches fenceAt: in real time, that over its rate.
  const fencedAt = failed.confirmedSentAtSteady === null ? null : fenceAt(failed.confirmedSentAtSteady, o.times) / failed.rate;
  return {
    failed: failed.id,
    movedPartitions: theirs.length,
    movedNodes: nodesOf(theirs),
    movedElsewhere: nodesOf(elsewhere),
    mostTakenByOne: Math.max(0, ...taken.values()),
    ownedAgainMs: theirs.map((p) => ({ ms: claimedAt.get(p)! - faultAt, nodes: counts[p]! })),
    fenceToFirstClaimMs: o.fault === 'cutoff' && fencedAt !== null ? Math.min(...claimedAt.values()) - fencedAt : null,
  };
}

/** The value below which `q` of the weight lies, over (value, weight) pairs. */
function weightedQuantile(pairs: Array<{ ms: number; nodes: number }>, q: number): number {
  const sorted = [...pairs].sort((a, b) => a.ms - b.ms);
  const total = sorted.reduce((s, x) => s + x.nodes, 0);
  let seen = 0;
  for (const x of sorted) {
    seen += x.nodes;
    if (seen >= q * total) return x.ms;
  }
  return sorted.at(-1)?.ms ?? NaN;
}

export function simulateFailover(options: FailoverSimOptions): FailoverSimReport {
  const o = {
    partitions: PARTITION_COUNT,
    times: LEASE_TIMES,
    dbLatency: { floorMs: 0.2, tailMeanMs: 1 },
    timerLatenessMeanMs: 2,
    driftPpm: 100,
    ...options,
  };
  if (o.controllers < 2) throw new Error(`failover simulation: ${o.controllers} controller(s): at least 2 are needed for one to take over`);
  const counts = nodesPerPartition(o.nodes, o.partitions);
  const random = seededRandom(o.seed);
  const trials = Array.from({ length: o.trials }, () => runTrial(o, counts, random));
  const moved = trials.map((t) => t.movedNodes);
  const mean = moved.reduce((s, x) => s + x, 0) / trials.length;
  // Each trial counts once here.
  const allOwned = trials.map((t) => ({ ms: Math.max(...t.ownedAgainMs.map((x) => x.ms)), nodes: 1 }));
  const everyNode = trials.flatMap((t) => t.ownedAgainMs);
  const gaps = trials.map((t) => t.fenceToFirstClaimMs).filter((g): g is number => g !== null);
  return {
    options: o,
    trials,
    movedNodes: { mean, min: Math.min(...moved), max: Math.max(...moved), meanPercent: (mean / o.nodes) * 100 },
    mostTakenByOne: Math.max(...trials.map((t) => t.mostTakenByOne)),
    movedElsewhere: trials.reduce((s, t) => s + t.movedElsewhere, 0),
    nodeOwnedAgainMs: { p50: weightedQuantile(everyNode, 0.5), p90: weightedQuantile(everyNode, 0.9), p99: weightedQuantile(everyNode, 0.99), max: Math.max(...everyNode.map((x) => x.ms)) },
    allOwnedAgainMs: { p50: weightedQuantile(allOwned, 0.5), p99: weightedQuantile(allOwned, 0.99), max: Math.max(...allOwned.map((x) => x.ms)) },
    minFenceToClaimMs: gaps.length > 0 ? Math.min(...gaps) : null,
  };
}
