/**
 * A controller joining its site's federation (config `federation`): the lease keeper on the
 * store's database, through a pool of its own so that renewals and power claims never queue
 * behind the store's writes; its first round done (a database that refuses it stops the start),
 * rounds every renewMs after, and the gate that power actions pass.
 */
import type { Logger } from '../log.js';
import type { ControllerConfig } from '../config.js';
import { PgDatabase } from '../store/postgres/database.js';
import { LEASE_TIMES } from './lease.js';
import { LeaseKeeper } from './lease-keeper.js';
import { NodeOwnership } from './node-ownership.js';

export interface FederationMember {
  keeper: LeaseKeeper;
  ownership: NodeOwnership;
  /** Gives up every partition, drops the lease (the others claim at once) and closes the pool. */
  leave(): Promise<void>;
}

export async function joinFederation(url: string, config: NonNullable<ControllerConfig['federation']>, opts: { log: Logger; steady: () => number; wall: () => number }): Promise<FederationMember> {
  const { log } = opts;
  // A query on a connection that went silent fails within a lease, not at TCP's pace.
  const db = await PgDatabase.connect(url, { queryTimeoutMs: LEASE_TIMES.ttlMs });
  const keeper = new LeaseKeeper({
    db,
    controller: config.id,
    partitions: config.partitions,
    steady: opts.steady,
    wall: opts.wall,
    onError: (err) => log.error({ controller: config.id, err: err.message }, 'federation: lease round failed; acting until the lease can have expired, then fenced'),
    onFenced: (renewedAt) => log.error({ controller: config.id, renewedAt }, 'federation: fenced: lease not renewed in time; acting for no partition (power refused) until a renewal goes through'),
  });
  keeper.onChange(({ gained, lost }) => log.info({ controller: config.id, gained, lost }, 'federation: partitions adopted and lost'));
  const leave = async () => {
    await keeper.stop();
    await db.close();
  };
  try {
    await keeper.open();
  } catch (err) {
    await leave();
    throw err;
  }
  keeper.run();
  log.info({ controller: config.id, partitions: [...keeper.ownedPartitions().keys()] }, 'federation: joined');
  return { keeper, ownership: new NodeOwnership(keeper, db, config.partitions), leave };
}
