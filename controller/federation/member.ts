/**
 * A controller joining its site's federation (config `federation`): the lease keeper on the
 * store's database, its first round done (a database that refuses it stops the start), rounds
 * every renewMs after, and the gate that power actions pass.
 */
import type { Logger } from '../log.js';
import type { ControllerConfig } from '../config.js';
import { LeaseKeeper } from './lease-keeper.js';
import { NodeOwnership } from './node-ownership.js';
import type { Queryable } from './ownership-rows.js';

export interface FederationMember {
  keeper: LeaseKeeper;
  ownership: NodeOwnership;
}

export async function joinFederation(db: Queryable, config: NonNullable<ControllerConfig['federation']>, opts: { log: Logger; steady: () => number; wall: () => number }): Promise<FederationMember> {
  const { log } = opts;
  const keeper = new LeaseKeeper({
    db,
    controller: config.id,
    partitions: config.partitions,
    steady: opts.steady,
    wall: opts.wall,
    onError: (err) => log.error({ controller: config.id, err: err.message }, 'federation: lease round failed; acting until the lease can have expired, then fenced'),
  });
  keeper.onChange(({ gained, lost }) => log.info({ controller: config.id, gained, lost }, 'federation: partitions adopted and lost'));
  await keeper.open();
  keeper.run();
  log.info({ controller: config.id, partitions: [...keeper.ownedPartitions().keys()] }, 'federation: joined');
  return { keeper, ownership: new NodeOwnership(keeper, db, config.partitions) };
}
