/**
 * The pure core of federation: partitions, rendezvous hashing, lease and epoch decisions, tried
 * with plain data and a fake clock. A small model of the shared database (leases judged by its
 * clock, conditional updates of the partition rows) runs three controllers through a kill and a
 * cut-off from the database.
 */
import { describe, expect, it } from 'vitest';
import { LEASE_TIMES, actionRefusal, applyStep, fenceAt, liveControllers, mayAct, ownedEpochs, ownershipChange, ownershipSteps, refusalMessage, type Lease, type PartitionOwner } from '../../controller/federation/lease.js';
import { PARTITION_COUNT, fnv1a, partitionOf } from '../../controller/federation/partitions.js';
import { ownerOf, shareOut } from '../../controller/federation/rendezvous.js';

const names = (n: number) => Array.from({ length: n }, (_, i) => `n${String(i + 1).padStart(6, '0')}`);

describe('partitions', () => {
  it('are a fixed hash of the node name: known values, stable, spread evenly', () => {
    // FNV-1a's published test vectors: the hash must never change (every controller computes it).
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
    expect(partitionOf('n000001')).toBe(partitionOf('n000001'));
    const counts = new Array<number>(PARTITION_COUNT).fill(0);
    for (const n of names(160_000)) counts[partitionOf(n)]!++;
    // 625 per partition on average; none far off.
    expect(Math.min(...counts)).toBeGreaterThan(625 * 0.8);
    expect(Math.max(...counts)).toBeLessThan(625 * 1.2);
    expect(() => partitionOf('n1', 0)).toThrow('partition count 0 must be a whole number ≥ 1');
  });
});

describe('rendezvous hashing', () => {
  const controllers = ['ctl-a', 'ctl-b', 'ctl-c', 'ctl-d', 'ctl-e'];

  it('gives every partition one owner, shares them out evenly, and answers the same whatever the order of the list', () => {
    const shares = shareOut(PARTITION_COUNT, controllers);
    expect([...shares.values()].flat().sort((a, b) => a - b)).toEqual(Array.from({ length: PARTITION_COUNT }, (_, i) => i));
    for (const parts of shares.values()) expect(parts.length).toBeGreaterThan((PARTITION_COUNT / 5) * 0.6);
    for (let p = 0; p < PARTITION_COUNT; p++) expect(ownerOf(p, [...controllers].reverse())).toBe(ownerOf(p, controllers));
    expect(ownerOf(3, [])).toBeNull();
  });

  it('when a controller dies, moves only its partitions, spread over the others', () => {
    const before = shareOut(PARTITION_COUNT, controllers);
    const after = shareOut(PARTITION_COUNT, controllers.filter((c) => c !== 'ctl-c'));
    for (const c of controllers.filter((c) => c !== 'ctl-c')) expect(after.get(c)).toEqual(expect.arrayContaining(before.get(c)!));
    const moved = before.get('ctl-c')!;
    const takers = new Set(moved.map((p) => ownerOf(p, [...after.keys()])));
    expect(takers.size).toBeGreaterThanOrEqual(3);
  });

  it('when a controller joins, it takes partitions only from the others, none between them', () => {
    const before = shareOut(PARTITION_COUNT, controllers);
    const after = shareOut(PARTITION_COUNT, [...controllers, 'ctl-f']);
    for (const c of controllers) for (const p of after.get(c)!) expect(before.get(c)).toContain(p);
    expect(after.get('ctl-f')!.length).toBeGreaterThan(0);
  });
});

describe('leases and epochs', () => {
  const leases = (entries: Record<string, number>): Lease[] => Object.entries(entries).map(([controller, expiresAt]) => ({ controller, expiresAt }));
  const table = (count: number, owner: (p: number) => string | null, epoch = 1): PartitionOwner[] => Array.from({ length: count }, (_, p) => ({ partition: p, owner: owner(p), epoch }));

  it('a controller is live while its lease holds by the database clock', () => {
    expect(liveControllers(leases({ b: 100, a: 200, c: 99 }), 99)).toEqual(['a', 'b']);
    expect(liveControllers(leases({ a: 100 }), 100)).toEqual([]);
  });

  it('claims unowned partitions and a dead owner\'s, raising the epoch; waits for a live owner to release', () => {
    const live = ['a', 'b'];
    const rows = table(32, (p) => (p % 3 === 0 ? null : p % 3 === 1 ? 'dead' : ownerOf(p, live) === 'a' ? 'b' : 'a'));
    const steps = ownershipSteps('a', rows, leases({ a: 10_000, b: 10_000, dead: 500 }), 1000);
    for (const s of steps) {
      const row = rows[s.partition]!;
      if (s.kind === 'claim') {
        expect(ownerOf(s.partition, live)).toBe('a');
        expect(row.owner === null || row.owner === 'dead').toBe(true);
        expect(applyStep('a', row, s)).toEqual({ partition: s.partition, owner: 'a', epoch: row.epoch + 1 });
      } else {
        // a holds it but b outweighs a for it: a hands it over.
        expect(row.owner).toBe('a');
        expect(ownerOf(s.partition, live)).toBe('b');
        expect(applyStep('a', row, s)).toEqual({ ...row, owner: null });
      }
    }
    // Every partition a should have and can take, it claims; none held by live b.
    const claimable = rows.filter((r) => ownerOf(r.partition, live) === 'a' && r.owner !== 'a' && r.owner !== 'b').map((r) => r.partition);
    expect(steps.filter((s) => s.kind === 'claim').map((s) => s.partition)).toEqual(claimable);
    expect(steps.some((s) => s.kind === 'claim' && rows[s.partition]!.owner === 'b')).toBe(false);
    // Without a lease of its own, a controller decides nothing.
    expect(ownershipSteps('a', rows, leases({ a: 900, b: 10_000 }), 1000)).toEqual([]);
  });

  it('a step loses when the row changed since it was read: two controllers claiming at once, one wins', () => {
    const row: PartitionOwner = { partition: 5, owner: 'dead', epoch: 4 };
    const step = { kind: 'claim' as const, partition: 5, from: 'dead', epoch: 4 };
    const won = applyStep('a', row, step)!;
    expect(won).toEqual({ partition: 5, owner: 'a', epoch: 5 });
    expect(applyStep('b', won, step)).toBeNull();
    expect(applyStep('b', won, { kind: 'release', partition: 5, epoch: 5 })).toBeNull();
  });

  it('self-fencing: a controller stops acting a margin before its lease can expire, counted from when it sent its renewal', () => {
    expect(fenceAt(1000)).toBe(1000 + LEASE_TIMES.ttlMs - LEASE_TIMES.marginMs);
    expect(mayAct(7999, 1000)).toBe(true);
    expect(mayAct(8000, 1000)).toBe(false);
    expect(mayAct(0, null)).toBe(false);
  });

  it('a power action goes out only at the claimed epoch, with the lease holding here and there', () => {
    const claim = { node: 'n000007', controller: 'a', partition: 9, epoch: 3 };
    const may = { mayAct: true, renewedAt: '2026-01-01T00:00:00.000Z' };
    expect(actionRefusal(claim, { partition: 9, owner: 'a', epoch: 3 }, true, may)).toBeNull();
    expect(actionRefusal(claim, { partition: 9, owner: 'b', epoch: 4 }, true, may)).toBe('partition 9 is owned by b (epoch 4)');
    expect(actionRefusal(claim, { partition: 9, owner: null, epoch: 3 }, true, may)).toBe('partition 9 is owned by nobody (epoch 3)');
    expect(actionRefusal(claim, { partition: 9, owner: 'a', epoch: 4 }, true, may)).toBe('partition 9 was claimed again (epoch 4, this controller holds epoch 3)');
    expect(actionRefusal(claim, { partition: 9, owner: 'a', epoch: 3 }, false, may)).toBe('the lease of controller a has expired');
    // Another owner is the reason to give, whatever the lease: it says who acts for the node now.
    expect(actionRefusal(claim, { partition: 9, owner: 'b', epoch: 4 }, false, may)).toBe('partition 9 is owned by b (epoch 4)');
    expect(actionRefusal(claim, { partition: 9, owner: 'a', epoch: 3 }, true, { ...may, mayAct: false })).toBe('this controller is fenced (lease not renewed since 2026-01-01T00:00:00.000Z)');
    expect(actionRefusal(claim, { partition: 9, owner: 'a', epoch: 3 }, true, { mayAct: false, renewedAt: null })).toBe('this controller is fenced (lease not renewed since it started)');
    expect(refusalMessage('n012', 'power cycle', 'partition 17 is owned by c2 (epoch 5)')).toBe('node n012: power cycle refused: partition 17 is owned by c2 (epoch 5)');
  });

  it('the partitions a controller owns are the rows naming it, with their epochs', () => {
    const rows: PartitionOwner[] = [
      { partition: 0, owner: 'a', epoch: 2 },
      { partition: 1, owner: 'b', epoch: 7 },
      { partition: 2, owner: null, epoch: 1 },
      { partition: 3, owner: 'a', epoch: 5 },
    ];
    expect(ownedEpochs('a', rows)).toEqual(new Map([[0, 2], [3, 5]]));
    expect(ownedEpochs('c', rows).size).toBe(0);
  });

  it('what a controller gained and lost: a partition claimed again at a new epoch is both', () => {
    const before = new Map([
      [1, 3],
      [2, 3],
      [4, 1],
    ]);
    const after = new Map([
      [1, 3],
      [2, 4],
      [7, 2],
    ]);
    expect(ownershipChange(before, after)).toEqual({ gained: [2, 7], lost: [2, 4] });
  });
});

const controllerState = (nextRenew: number) => ({ alive: true, reachesDb: true, nextRenew, confirmedSentAt: null as number | null, owns: new Set<number>() });

/**
 * Three controllers and the shared database on one fake clock (the database's and each
 * controller's steady clock are the same here; latency makes the database handle a renewal after
 * it was sent). Each controller renews every renewMs and then applies its ownership steps.
 */
function cluster(controllers: string[], latencyMs = 50) {
  const { renewMs, ttlMs } = LEASE_TIMES;
  const db = { leases: new Map<string, number>(), rows: Array.from({ length: PARTITION_COUNT }, (_, p): PartitionOwner => ({ partition: p, owner: null, epoch: 0 })) };
  const state = new Map(controllers.map((c, i) => [c, controllerState(i * 10)]));
  let now = 0;
  const tick = () => {
    for (const [c, s] of state) {
      if (!s.alive || now < s.nextRenew) continue;
      s.nextRenew = now + renewMs;
      if (!s.reachesDb) continue;
      db.leases.set(c, now + latencyMs + ttlMs);
      s.confirmedSentAt = now;
      const leases = [...db.leases].map(([controller, expiresAt]) => ({ controller, expiresAt }));
      for (const step of ownershipSteps(c, db.rows, leases, now + latencyMs)) {
        const next = applyStep(c, db.rows[step.partition]!, step);
        if (next) db.rows[step.partition] = next;
      }
      s.owns = new Set(db.rows.filter((r) => r.owner === c).map((r) => r.partition));
    }
  };
  /** Controllers that would act on `partition` now: they owned it when they last read the table (a controller cut off knows no better) and have not fenced themselves. */
  const actors = (partition: number) => [...state].filter(([, s]) => s.alive && s.owns.has(partition) && mayAct(now, s.confirmedSentAt));
  return {
    db,
    state,
    get now() {
      return now;
    },
    /** Runs the clock `ms` forward in 100 ms steps, calling `check` at each. */
    run(ms: number, check: () => void = () => {}) {
      for (const end = now + ms; now < end; now += 100) {
        tick();
        check();
      }
    },
    actors,
    owners: () => new Map(db.rows.map((r) => [r.partition, r.owner])),
  };
}

describe('failover, simulated on a fake clock', () => {
  it('kill -9 one controller: its partitions are owned again within 10 s, the others keep theirs at the same epoch', () => {
    const c = cluster(['a', 'b', 'c']);
    c.run(5000);
    const before = c.db.rows.map((r) => ({ ...r }));
    expect(new Set(before.map((r) => r.owner))).toEqual(new Set(['a', 'b', 'c']));
    for (const r of before) expect(r.owner).toBe(ownerOf(r.partition, ['a', 'b', 'c']));
    c.state.get('c')!.alive = false;
    const killedAt = c.now;
    let ownedAgainAt: number | null = null;
    c.run(15_000, () => {
      if (ownedAgainAt === null && c.db.rows.every((r) => r.owner !== 'c' && r.owner !== null)) ownedAgainAt = c.now;
    });
    expect(ownedAgainAt).not.toBeNull();
    expect(ownedAgainAt! - killedAt).toBeLessThanOrEqual(10_000);
    for (const r of c.db.rows) {
      const was = before[r.partition]!;
      if (was.owner === 'c') expect(r.epoch).toBe(was.epoch + 1);
      else expect(r).toEqual(was); // healthy partitions: untouched, same epoch
    }
  });

  it('a controller cut off from the database fences itself before anyone can claim its partitions: never two actors', () => {
    const c = cluster(['a', 'b', 'c']);
    c.run(5000);
    c.state.get('b')!.reachesDb = false;
    const cutAt = c.now;
    let fencedAt: number | null = null;
    c.run(20_000, () => {
      for (let p = 0; p < PARTITION_COUNT; p++) expect(c.actors(p).length).toBeLessThanOrEqual(1);
      if (fencedAt === null && !mayAct(c.now, c.state.get('b')!.confirmedSentAt)) fencedAt = c.now;
    });
    expect(fencedAt! - cutAt).toBeLessThanOrEqual(LEASE_TIMES.ttlMs);
    // Until then it went on acting on what it owned: the check above saw it beside the others.
    expect(c.state.get('b')!.owns.size).toBeGreaterThan(0);
    expect(c.db.rows.some((r) => r.owner === 'b')).toBe(false);
    // b's partitions went to a and c, each claimed once.
    expect(new Set(c.db.rows.map((r) => r.owner))).toEqual(new Set(['a', 'c']));
  });

  it('a controller joining takes its share only after the owners release it', () => {
    const c = cluster(['a', 'b']);
    c.run(5000);
    c.state.set('d', controllerState(c.now));
    c.run(10_000, () => {
      for (let p = 0; p < PARTITION_COUNT; p++) expect(c.actors(p).length).toBeLessThanOrEqual(1);
    });
    for (const r of c.db.rows) expect(r.owner).toBe(ownerOf(r.partition, ['a', 'b', 'd']));
  });
});
