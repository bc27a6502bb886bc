/**
 * The failover simulation the bench runs at 160,000 nodes (bench/lib/federation-sim.ts), checked
 * at a small size for the properties its figures rest on: what moves is exactly the failed
 * controller's share, every moved node has a new owner within a lease and a renewal, and a
 * controller cut off from the database has fenced itself before anyone claims its partitions.
 */
import { describe, expect, it } from 'vitest';
import { simulateFailover, nodesPerPartition } from '../../bench/lib/federation-sim.js';
import { LEASE_TIMES } from '../../controller/federation/lease.js';
import { PARTITION_COUNT } from '../../controller/federation/partitions.js';

const { renewMs, ttlMs, marginMs } = LEASE_TIMES;

describe('failover simulation', () => {
  it('counts every node in exactly one partition', () => {
    const counts = nodesPerPartition(10_000);
    expect(counts).toHaveLength(PARTITION_COUNT);
    expect(counts.reduce((s, x) => s + x, 0)).toBe(10_000);
  });

  it('kill: moves only the dead controller’s nodes, spread over the survivors, owned again within ttl + renewal', () => {
    const r = simulateFailover({ nodes: 20_000, controllers: 4, fault: 'kill', trials: 20, seed: 7 });
    expect(r.trials).toHaveLength(20);
    expect(r.movedElsewhere).toBe(0);
    for (const t of r.trials) {
      // About a quarter of the nodes, never all of them to one survivor.
      expect(t.movedNodes).toBeGreaterThan(20_000 / 4 / 2);
      expect(t.movedNodes).toBeLessThan((20_000 / 4) * 2);
      expect(t.mostTakenByOne).toBeLessThan(t.movedNodes);
      for (const x of t.ownedAgainMs) {
        // Not before the lease it last renewed can have expired, no later than one more renewal round after that.
        expect(x.ms).toBeGreaterThan(ttlMs - renewMs);
        expect(x.ms).toBeLessThan(ttlMs + renewMs + 100);
      }
      expect(t.fenceToFirstClaimMs).toBeNull();
    }
    expect(r.nodeOwnedAgainMs.p50).toBeLessThanOrEqual(r.nodeOwnedAgainMs.p99);
    expect(r.allOwnedAgainMs.max).toBeLessThan(10_000 + 100);
    expect(r.minFenceToClaimMs).toBeNull();
  });

  it('cut-off: the controller fences itself at least the margin before its partitions are claimed', () => {
    const r = simulateFailover({ nodes: 5_000, controllers: 3, fault: 'cutoff', trials: 30, seed: 11, driftPpm: 500 });
    expect(r.minFenceToClaimMs).not.toBeNull();
    expect(r.minFenceToClaimMs!).toBeGreaterThan(marginMs * 0.99);
    expect(r.movedElsewhere).toBe(0);
  });

  it('is repeatable from its seed, and refuses a federation of one', () => {
    const a = simulateFailover({ nodes: 2_000, controllers: 3, fault: 'kill', trials: 5, seed: 3 });
    const b = simulateFailover({ nodes: 2_000, controllers: 3, fault: 'kill', trials: 5, seed: 3 });
    expect(b.trials).toEqual(a.trials);
    expect(() => simulateFailover({ nodes: 10, controllers: 1, fault: 'kill', trials: 1, seed: 1 })).toThrow('at least 2 are needed');
  });
});
