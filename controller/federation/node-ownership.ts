/**
 * Which nodes this controller acts for, and the power gate: before a power action reaches a BMC,
 * a conditional insert proves in the database that this controller still owns the node's
 * partition at the epoch it claimed, with its lease holding; otherwise the action fails naming why
 * and the driver is never called. In-flight actions of a partition lost are aborted.
 */
import { MusterError } from '../../shared/errors.js';
import type { CallOptions, PowerDriver } from '../power/driver.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { actionRefusal, refusalMessage, type ActionClaim } from './lease.js';
import { claimStanding, insertActionClaim, type Queryable } from './ownership-rows.js';
import { partitionOf } from './partitions.js';

/** Code of a power action the gate refused. */
export const POWER_REFUSED = 'power-refused';
/** An admin change sent to a controller that does not own the node. */
export const NOT_OWNER = 'not-owner';

export class NodeOwnership {
  /** Per partition acted for: aborted when it is lost. */
  private readonly inFlight = new Map<number, AbortController>();

  constructor(
    private readonly keeper: LeaseKeeper,
    private readonly db: Queryable,
    readonly partitions: number,
  ) {
    keeper.onChange(({ lost }) => {
      for (const p of lost) {
        this.inFlight.get(p)?.abort(new Error(`partition ${p} lost`));
        this.inFlight.delete(p);
      }
    });
  }

  partitionOf(node: string): number {
    return partitionOf(node, this.partitions);
  }

  /** Whether this controller acts for the node now (its partition, its lease holding by its own clock). */
  owns(node: string): boolean {
    return this.keeper.epochOf(this.partitionOf(node)) !== null;
  }

  /** The partitions this controller acts for now. */
  ownedPartitions(): number[] {
    return [...this.keeper.ownedPartitions().keys()];
  }

  /**
   * Whether this controller identifies and names the agent while it is bound to no node: the owner
   * of its *discovery partition*, the agent id's partition by the nodes' hash, so that each unknown
   * agent is discovered and named by one controller of the site.
   */
  discovers(agentId: string): boolean {
    return this.keeper.epochOf(partitionOf(agentId, this.partitions)) !== null;
  }

  /** This controller's id (config `federation.id`). */
  get controller(): string {
    return this.keeper.controller;
  }

  /**
   * Who acts for the node as far as this controller knows: itself when it owns it now, else the
   * owner its partition row named at the last read; null before the first read or while unowned.
   */
  ownerOf(node: string): string | null {
    if (this.owns(node)) return this.keeper.controller;
    return this.keeper.rowOf(this.partitionOf(node))?.owner ?? null;
  }

  /**
   * Refuses an admin state change (`offline`) of nodes this controller does not own: only a node's
   * owner keeps its runtime record, so the change would be lost. Names the first such node's owner.
   */
  requireOwned(nodes: readonly string[], what: string): void {
    const foreign = nodes.filter((n) => !this.owns(n));
    if (foreign.length === 0) return;
    const first = foreign[0]!;
    const partition = this.partitionOf(first);
    const owner = this.keeper.rowOf(partition)?.owner ?? null;
    const others = foreign.length > 1 ? ` (and ${foreign.length - 1} more nodes this controller does not own)` : '';
    throw new MusterError(`${refusalMessage(first, what, `partition ${partition} is owned by ${owner ?? 'nobody'}`)}${others}; send it to ${owner ?? 'the owner'}`, NOT_OWNER);
  }

  /**
   * Proves ownership of `node` for the action `what` (`power cycle`): resolves when the claim row
   * was inserted; throws a MusterError (`power-refused`) naming why not. Nothing is asked of the
   * database when this controller already knows it may not act.
   */
  async admit(node: string, what: string): Promise<void> {
    const partition = this.partitionOf(node);
    const epoch = this.keeper.epochOf(partition);
    const claim: ActionClaim = { node, controller: this.keeper.controller, partition, epoch: epoch ?? -1 };
    const refuse = (reason: string) => new MusterError(refusalMessage(node, what, reason), POWER_REFUSED);
    if (epoch === null) {
      const row = this.keeper.rowOf(partition);
      throw refuse((row && actionRefusal(claim, row, true, this.keeper.selfFence())) ?? `partition ${partition} is not owned by this controller`);
    }
    let inserted: boolean;
    try {
      inserted = await insertActionClaim(this.db, claim, what);
    } catch (err) {
      throw refuse(`ownership could not be proven in the database: ${(err as Error).message}`);
    }
    // The insert may have taken long: the controller's own clock has the last word.
    if (inserted && this.keeper.mayAct()) return;
    const { row, leaseHolds } = inserted ? { row: { partition, owner: claim.controller, epoch }, leaseHolds: true } : await claimStanding(this.db, claim);
    throw refuse(actionRefusal(claim, row, leaseHolds, this.keeper.selfFence()) ?? `partition ${partition} changed owner during the claim`);
  }

  /** A signal aborted when the node's partition is lost, or `outer` aborts. */
  signalFor(node: string, outer?: AbortSignal): AbortSignal {
    const partition = this.partitionOf(node);
    let ac = this.inFlight.get(partition);
    if (!ac) this.inFlight.set(partition, (ac = new AbortController()));
    return outer ? AbortSignal.any([outer, ac.signal]) : ac.signal;
  }

  /** `driver` with every action (not a status read) gated and aborted with the node's partition. */
  gate(driver: PowerDriver): PowerDriver {
    const acting =
      (what: string, op: (opts: CallOptions) => Promise<void>) =>
      async (opts: CallOptions = {}): Promise<void> => {
        // Taken before the claim: a partition lost while it is proven aborts it too.
        const signal = this.signalFor(driver.node, opts.signal);
        await this.admit(driver.node, what);
        if (signal.aborted) throw new MusterError(refusalMessage(driver.node, what, signal.reason instanceof Error ? signal.reason.message : 'aborted'), POWER_REFUSED);
        await op({ ...opts, signal });
      };
    const gated: PowerDriver = {
      ...driver,
      on: acting('power on', (o) => driver.on(o)),
      off: acting('power off', (o) => driver.off(o)),
      reset: acting('power reset', (o) => driver.reset(o)),
      cycle: acting('power cycle', (o) => driver.cycle(o)),
      async run(action, opts) {
        if (action === 'status') return driver.status(opts);
        await gated[action](opts);
        return undefined;
      },
    };
    const { netbootOnce } = driver;
    if (netbootOnce) gated.netbootOnce = (mode, opts = {}) => acting('boot device pxe', (o) => netbootOnce.call(driver, mode, o))(opts);
    return gated;
  }
}
