/**
 * Leases, partition ownership and the power gate on a real PostgreSQL (a throwaway cluster):
 * several lease keepers in one process share one database, as several controllers would. Their
 * steady clocks are fake where fencing is judged; the database's clock is moved past a lease by
 * setting it to have expired, except in the one test that measures failover on real time.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LeaseKeeper, type OwnershipChange } from '../../controller/federation/lease-keeper.js';
import { LEASE_TIMES, type LeaseTimes, type OwnershipStep } from '../../controller/federation/lease.js';
import { NodeOwnership } from '../../controller/federation/node-ownership.js';
import { applyOwnershipStep, ensurePartitions, readOwnership, renewLease, type Queryable } from '../../controller/federation/ownership-rows.js';
import { partitionOf } from '../../controller/federation/partitions.js';
import { shareOut } from '../../controller/federation/rendezvous.js';
import { createPowerDriver } from '../../controller/power/registry.js';
import { PgDatabase } from '../../controller/store/postgres/database.js';
import { postgresPerFile } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const PARTITIONS = 16;

const { createDatabase, cleanup } = postgresPerFile();

/** A new database with muster's schema, as each controller of one site connects to it. */
async function site(): Promise<{ connect: () => Promise<PgDatabase> }> {
  const url = await createDatabase();
  return {
    async connect() {
      const db = await PgDatabase.connect(url);
      cleanup.push(() => db.close());
      return db;
    },
  };
}

/** A steady clock the test moves. */
function fakeClock(start = 1_000_000) {
  const clock = { now: start, steady: () => clock.now };
  return clock;
}

/** A keeper whose changes are recorded; not started (rounds are driven with `tick()`) unless `run`. */
function keeper(db: Queryable, controller: string, opts: { times?: LeaseTimes; steady?: () => number } = {}) {
  const changes: OwnershipChange[] = [];
  const errors: string[] = [];
  const fenced: Array<string | null> = [];
  const k = new LeaseKeeper({ db, controller, partitions: PARTITIONS, onError: (err) => errors.push(err.message), onFenced: (renewedAt) => fenced.push(renewedAt), ...opts });
  k.onChange((c) => changes.push(c));
  cleanup.push(() => k.stop());
  return { k, changes, errors, fenced };
}

const sortedOwned = (k: LeaseKeeper) => [...k.ownedPartitions().keys()].sort((a, b) => a - b);
/** A node name in `partition`. */
const nodeIn = (partition: number) => {
  for (let i = 1; ; i++) if (partitionOf(`n${String(i).padStart(3, '0')}`, PARTITIONS) === partition) return `n${String(i).padStart(3, '0')}`;
};

/**
 * A `command:` power script that keeps the node's power in a file and writes every call to a
 * journal (the BMC's view); `off` takes 30 s when `slow`.
 */
function journallingScript(slow = false) {
  const t = tempDir('muster-fed-');
  cleanup.push(t.remove);
  const journal = join(t.dir, 'journal');
  const script = join(t.dir, 'power.sh');
  const state = join(t.dir, 'state');
  writeFileSync(
    script,
    `#!/bin/sh
echo "$1 $2" >> ${journal}
case "$1" in
  status) cat ${state} 2>/dev/null || echo on ;;
  off) ${slow ? 'sleep 30; ' : ''}echo off > ${state} ;;
  on|reset) echo on > ${state} ;;
esac
exit 0
`,
  );
  chmodSync(script, 0o755);
  return { target: `command:${script}`, calls: () => (existsSync(journal) ? readFileSync(journal, 'utf8').trim().split('\n') : []) };
}

const expireLease = (db: Queryable, controller: string) => db.query("UPDATE controller_leases SET expires_at = now() - interval '1 millisecond' WHERE controller = $1", [controller]);

describe('lease keepers on one database', () => {
  it('share the partitions by rendezvous hashing, each claimed once, and tell what they gained', async () => {
    const s = await site();
    const ids = ['c1', 'c2', 'c3'];
    const ks = await Promise.all(ids.map(async (id) => keeper(await s.connect(), id, { steady: fakeClock().steady })));
    for (const { k } of ks) await k.open();
    // c1 took everything first; the next rounds hand each partition to its rendezvous owner.
    for (let round = 0; round < 2; round++) for (const { k } of ks) await k.tick();
    const share = shareOut(PARTITIONS, ids);
    ks.forEach(({ k, errors }, i) => {
      expect(sortedOwned(k)).toEqual(share.get(ids[i]!));
      expect(errors).toEqual([]);
    });
    // c1 gained all 16 alone (from nobody), then lost to c2 and c3 what is theirs, naming them;
    // c3 gained only its share, from c1.
    expect(ks[0]!.changes[0]).toEqual({ gained: Array.from({ length: PARTITIONS }, (_, p) => p), lost: [], from: new Map(), to: new Map() });
    const handedTo = new Map(ks[0]!.changes.flatMap((c) => [...c.to]));
    expect([...handedTo].sort(([a], [b]) => a - b)).toEqual([...share].filter(([id]) => id !== 'c1').flatMap(([id, ps]) => ps.map((p) => [p, id])).sort(([a], [b]) => Number(a) - Number(b)));
    expect(ks[2]!.changes.flatMap((c) => c.gained).sort((a, b) => a - b)).toEqual(share.get('c3'));
    expect(ks[2]!.changes.flatMap((c) => [...c.from.values()])).toEqual(share.get('c3')!.map(() => 'c1'));
    expect(ks[2]!.changes.flatMap((c) => c.lost)).toEqual([]);
    const { partitions } = await readOwnership(await s.connect());
    for (const row of partitions) expect(row.epoch).toBe(row.owner === 'c1' ? 1 : 2); // c1's claim, then c2's or c3's after c1 released it
  });

  it('a controller that stops renewing fences itself before its lease expires; the others claim its partitions at epoch + 1 within ttl + renew', async () => {
    const s = await site();
    // Real clocks, short times: the database's clock must pass the lease.
    const times: LeaseTimes = { renewMs: 100, ttlMs: 1000, marginMs: 300 };
    let cut = false;
    const db3 = await s.connect();
    const cutOff: Queryable = { query: (text, params) => (cut ? Promise.reject(new Error('connection to the database lost')) : db3.query(text, params)) };
    const ks = [keeper(await s.connect(), 'c1', { times }), keeper(await s.connect(), 'c2', { times }), keeper(cutOff, 'c3', { times })];
    for (const { k } of ks) await k.open();
    for (const { k } of ks) k.run();
    const share = shareOut(PARTITIONS, ['c1', 'c2', 'c3']);
    const c3 = ks[2]!.k;
    await until('the partitions shared out', () => ks.every(({ k }) => JSON.stringify(sortedOwned(k)) === JSON.stringify(share.get(k.controller))), 10_000);
    const observer = await s.connect();
    const before = await readOwnership(observer);

    let fencedAt = 0;
    c3.onChange(({ lost }) => {
      if (lost.length) fencedAt = Date.now();
    });
    cut = true;
    const cutAt = Date.now();
    const moved = share.get('c3')!;
    const after = await until(
      "c3's partitions claimed by c1 and c2",
      async () => {
        const now = await readOwnership(observer);
        return moved.every((p) => now.partitions[p]!.owner !== 'c3' && now.partitions[p]!.owner !== null) && now;
      },
      10_000,
      10,
    );
    const claimedAt = Date.now();
    const renewedAt = Date.parse(c3.selfFence().renewedAt!);
    expect(fencedAt).toBeGreaterThan(0);
    // Fenced on its own clock before the database let anyone claim: the lease ran ttl after the renewal was handled.
    expect(fencedAt).toBeLessThan(renewedAt + times.ttlMs);
    expect(fencedAt).toBeLessThan(claimedAt);
    expect(c3.ownedPartitions().size).toBe(0);
    // It says so once, naming its last renewal; whom its partitions go to it cannot know.
    expect(ks[2]!.fenced).toEqual([c3.selfFence().renewedAt]);
    expect(ks[2]!.changes.at(-1)).toMatchObject({ gained: [], lost: moved, to: new Map() });
    // Claimed within ttl + renew of the last renewal (and the round that saw it: the 2-core machine is shared).
    expect(claimedAt - renewedAt).toBeLessThanOrEqual(times.ttlMs + times.renewMs + 500);
    expect(claimedAt - cutAt).toBeLessThanOrEqual(times.ttlMs + times.renewMs + 500);
    for (const p of moved) expect(after.partitions[p]!.epoch).toBe(before.partitions[p]!.epoch + 1);
    // The claimer acts for them once its round has read the table back.
    await until('c1 and c2 acting for the moved partitions at the new epochs', () => moved.every((p) => (ks[0]!.k.epochOf(p) ?? ks[1]!.k.epochOf(p)) === after.partitions[p]!.epoch), 2_000, 10);
    // The others' partitions did not move.
    for (let p = 0; p < PARTITIONS; p++) if (!moved.includes(p)) expect(after.partitions[p]).toEqual(before.partitions[p]);
    expect(ks[2]!.errors.length).toBeGreaterThan(0);
  });

  it('of two controllers claiming the same partitions at once, exactly one wins each', async () => {
    const s = await site();
    const [db1, db2] = [await s.connect(), await s.connect()];
    await ensurePartitions(db1, PARTITIONS);
    await renewLease(db1, 'c1', LEASE_TIMES.ttlMs);
    await renewLease(db2, 'c2', LEASE_TIMES.ttlMs);
    const steps: OwnershipStep[] = Array.from({ length: PARTITIONS }, (_, p) => ({ kind: 'claim', partition: p, from: null, epoch: 0 }));
    const results = await Promise.all(steps.flatMap((step) => [applyOwnershipStep(db1, 'c1', step), applyOwnershipStep(db2, 'c2', step)]));
    for (let p = 0; p < PARTITIONS; p++) {
      const [a, b] = [results[2 * p], results[2 * p + 1]];
      expect([a, b].filter((r) => r !== null)).toHaveLength(1);
      expect((a ?? b)!.epoch).toBe(1);
    }
    const { partitions } = await readOwnership(db1);
    expect(partitions.every((r) => r.epoch === 1 && (r.owner === 'c1' || r.owner === 'c2'))).toBe(true);
    // The loser's step, decided from the same row, loses again later too.
    expect(await applyOwnershipStep(db1, 'c1', steps[0]!)).toBeNull();
  });

  it("bounds a query on the keeper's pool: a connection gone silent fails a round instead of stalling it", async () => {
    const url = await createDatabase();
    const db = await PgDatabase.connect(url, { queryTimeoutMs: 200 });
    cleanup.push(() => db.close());
    const started = Date.now();
    await expect(db.query('SELECT pg_sleep(5)')).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a partition table made for another partition count', async () => {
    const s = await site();
    const db = await s.connect();
    await ensurePartitions(db, PARTITIONS);
    await expect(ensurePartitions(db, 32)).rejects.toThrow("federation: the database's partition table has 16 partitions, this controller is configured with 32; every controller of a site must use the same federation.partitions");
  });
});

describe('the power gate', () => {
  it('lets an owner\'s action through with a claim row; a fenced controller is refused before its lease expires, and the BMC sees nothing', async () => {
    const s = await site();
    const db = await s.connect();
    const clock = fakeClock();
    const { k, changes } = keeper(db, 'c1', { steady: clock.steady });
    await k.open();
    const gate = new NodeOwnership(k, db, PARTITIONS);
    const bmc = journallingScript();
    const node = nodeIn(5);
    const driver = gate.gate(createPowerDriver(bmc.target, node));
    await driver.run('cycle');
    const cycled = [`off ${node}`, `status ${node}`, `on ${node}`];
    expect(bmc.calls()).toEqual(cycled);
    expect((await db.query('SELECT node, partition, epoch, controller, action FROM power_claims')).rows).toEqual([{ node, partition: 5, epoch: 1, controller: 'c1', action: 'power cycle' }]);

    // No renewal for ttl - margin on its own clock: fenced, though the database still holds its lease.
    clock.now += LEASE_TIMES.ttlMs - LEASE_TIMES.marginMs;
    const renewed = k.selfFence().renewedAt!;
    await expect(driver.run('cycle')).rejects.toThrow(`node ${node}: power cycle refused: this controller is fenced (lease not renewed since ${renewed})`);
    await expect(driver.run('on')).rejects.toMatchObject({ code: 'power-refused' });
    expect((await db.query<{ holds: boolean }>("SELECT expires_at > now() AS holds FROM controller_leases WHERE controller = 'c1'")).rows[0]!.holds).toBe(true);
    expect(bmc.calls()).toEqual(cycled);
    // Its fence timer tells the rest it lost everything.
    k.checkFence();
    expect(changes.at(-1)!.lost).toHaveLength(PARTITIONS);
    // A status read is not an action: it still reaches the BMC.
    expect(await driver.run('status')).toBe('on');
    expect(bmc.calls()).toEqual([...cycled, `status ${node}`]);
  });

  it('refuses an action after another controller claimed the partition, and aborts the action in flight when the loss is seen', async () => {
    const s = await site();
    const [db1, db2] = [await s.connect(), await s.connect()];
    const c1 = keeper(db1, 'c1', { steady: fakeClock().steady });
    await c1.k.open();
    const gate = new NodeOwnership(c1.k, db1, PARTITIONS);
    const bmc = journallingScript(true);
    const [slowNode, node] = [nodeIn(3), nodeIn(7)];
    const inFlight = gate
      .gate(createPowerDriver(bmc.target, slowNode))
      .run('cycle', { timeoutMs: 60_000 })
      .then(() => null, (err: unknown) => err);
    await until('the slow cycle at the BMC', () => bmc.calls().length === 1);

    // c1's lease runs out by the database's clock (c1 has not noticed); c2 claims everything at epoch 2.
    await expireLease(db1, 'c1');
    const c2 = keeper(db2, 'c2', { steady: fakeClock().steady });
    await c2.k.open();
    expect(sortedOwned(c2.k)).toHaveLength(PARTITIONS);
    expect(c1.k.epochOf(7)).toBe(1); // still believed, until c1 reads the table again

    await expect(gate.gate(createPowerDriver(bmc.target, node)).run('cycle')).rejects.toThrow(`node ${node}: power cycle refused: partition 7 is owned by c2 (epoch 2)`);
    expect(bmc.calls()).toEqual([`off ${slowNode}`]);
    expect((await db1.query("SELECT count(*)::integer AS n FROM power_claims WHERE controller = 'c1' AND node = $1", [node])).rows[0]).toEqual({ n: 0 });

    // c1's next round renews its lease and sees the table: everything lost, the slow cycle aborted.
    await c1.k.tick();
    const all = Array.from({ length: PARTITIONS }, (_, p) => p);
    expect(c1.changes.at(-1)).toEqual({ gained: [], lost: all, from: new Map(), to: new Map(all.map((p) => [p, 'c2'])) });
    expect(await inFlight).toMatchObject({ code: 'aborted', message: `node ${slowNode}: command power cycle failed: aborted by caller` });
    await expect(gate.gate(createPowerDriver(bmc.target, node)).run('off')).rejects.toThrow(`node ${node}: power off refused: partition 7 is owned by c2 (epoch 2)`);
    expect(bmc.calls()).toEqual([`off ${slowNode}`]);
  });
});
