/**
 * The federation's rows in PostgreSQL (migration 2): controller leases, partition owners and
 * power-action claims, as single SQL statements. Every time in them is the database's (`now()`),
 * so controllers with skewed clocks judge leases alike. The decisions are lease.ts's; each change
 * here is conditional on the row it was decided from, so of two controllers deciding at once one wins.
 */
import type pg from 'pg';
import type { ActionClaim, Lease, OwnershipStep, PartitionOwner } from './lease.js';

/** What the statements need of a database: PgDatabase, or a pool in tests. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Milliseconds since the epoch of a timestamptz expression, as a float8 (pg reads numeric as text). */
const ms = (expr: string) => `(extract(epoch from ${expr}) * 1000)::float8`;

/**
 * Makes the partition rows (unowned, epoch 0) if there are none, and refuses a table made for
 * another partition count: every controller of a site must put a node in the same partition.
 */
export async function ensurePartitions(db: Queryable, count: number): Promise<void> {
  const check = async (made: boolean) => {
    const r = await db.query<{ n: number; top: number | null }>('SELECT count(*)::integer AS n, max(partition) AS top FROM partitions');
    const { n, top } = r.rows[0]!;
    if ((n === 0 && !made) || (n === count && top === count - 1)) return;
    throw new Error(`federation: the database's partition table has ${n} partitions, this controller is configured with ${count}; every controller of a site must use the same federation.partitions`);
  };
  // Checked before and after: rows are only ever added to an empty table (two controllers may start at once).
  await check(false);
  await db.query('INSERT INTO partitions (partition) SELECT g FROM generate_series(0, $1::integer - 1) AS g ON CONFLICT DO NOTHING', [count]);
  await check(true);
}

/** Sets this controller's lease to expire `ttlMs` after the database handles this statement. */
export async function renewLease(db: Queryable, controller: string, ttlMs: number): Promise<void> {
  await db.query(
    `INSERT INTO controller_leases (controller, expires_at) VALUES ($1, now() + $2::integer * interval '1 millisecond')
     ON CONFLICT (controller) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
    [controller, ttlMs],
  );
}

/** Drops the lease (a controller stopping): its partitions may be claimed at once. */
export async function dropLease(db: Queryable, controller: string): Promise<void> {
  await db.query('DELETE FROM controller_leases WHERE controller = $1', [controller]);
}

/** Every lease, the partition rows and the database's clock, read in one snapshot. */
export async function readOwnership(db: Queryable): Promise<{ leases: Lease[]; partitions: PartitionOwner[]; dbNow: number }> {
  const r = await db.query<{ kind: 'lease' | 'partition' | 'now'; key: string | null; partition: number | null; owner: string | null; epoch: number | null; at: number | null }>(
    `SELECT 'now' AS kind, NULL AS key, NULL::integer AS partition, NULL AS owner, NULL::integer AS epoch, ${ms('now()')} AS at
     UNION ALL SELECT 'lease', controller, NULL, NULL, NULL, ${ms('expires_at')} FROM controller_leases
     UNION ALL SELECT 'partition', NULL, partition, owner, epoch, NULL FROM partitions`,
  );
  const leases: Lease[] = [];
  const partitions: PartitionOwner[] = [];
  let dbNow = 0;
  for (const row of r.rows) {
    if (row.kind === 'now') dbNow = row.at!;
    else if (row.kind === 'lease') leases.push({ controller: row.key!, expiresAt: row.at! });
    else partitions.push({ partition: row.partition!, owner: row.owner, epoch: row.epoch! });
  }
  partitions.sort((a, b) => a.partition - b.partition);
  return { leases, partitions, dbNow };
}

/**
 * Applies `step` only if the row still holds what it was decided from: a claim also only while the
 * previous owner's lease has expired and this controller's holds, by the database's clock. The row
 * after it, or null when the step lost.
 */
export async function applyOwnershipStep(db: Queryable, self: string, step: OwnershipStep): Promise<PartitionOwner | null> {
  const r =
    step.kind === 'claim'
      ? await db.query<PartitionOwner>(
          `UPDATE partitions SET owner = $1, epoch = epoch + 1
           WHERE partition = $2 AND epoch = $3 AND owner IS NOT DISTINCT FROM $4
             AND NOT EXISTS (SELECT 1 FROM controller_leases WHERE controller = $4 AND expires_at > now())
             AND EXISTS (SELECT 1 FROM controller_leases WHERE controller = $1 AND expires_at > now())
           RETURNING partition, owner, epoch`,
          [self, step.partition, step.epoch, step.from],
        )
      : await db.query<PartitionOwner>('UPDATE partitions SET owner = NULL WHERE partition = $2 AND epoch = $3 AND owner = $1 RETURNING partition, owner, epoch', [self, step.partition, step.epoch]);
  return r.rows[0] ?? null;
}

/**
 * The power gate's proof: one row in `power_claims`, inserted only if the partition row names
 * this controller at the claimed epoch and its lease holds at the database's now. True when it was.
 */
export async function insertActionClaim(db: Queryable, claim: ActionClaim, action: string): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO power_claims (node, partition, epoch, controller, action)
     SELECT $1, p.partition, p.epoch, p.owner, $5
     FROM partitions p JOIN controller_leases l ON l.controller = p.owner
     WHERE p.partition = $2 AND p.epoch = $3 AND p.owner = $4 AND l.expires_at > now()`,
    [claim.node, claim.partition, claim.epoch, claim.controller, action],
  );
  return r.rowCount === 1;
}

/** What the database holds about a refused claim: the partition's row and whether the controller's lease holds. */
export async function claimStanding(db: Queryable, claim: ActionClaim): Promise<{ row: PartitionOwner; leaseHolds: boolean }> {
  const r = await db.query<PartitionOwner & { lease_holds: boolean }>(
    `SELECT p.partition, p.owner, p.epoch, EXISTS (SELECT 1 FROM controller_leases WHERE controller = $2 AND expires_at > now()) AS lease_holds
     FROM partitions p WHERE p.partition = $1`,
    [claim.partition, claim.controller],
  );
  const row = r.rows[0];
  if (!row) throw new Error(`federation: partition ${claim.partition} has no row in the partitions table`);
  return { row: { partition: row.partition, owner: row.owner, epoch: row.epoch }, leaseHolds: row.lease_holds };
}
