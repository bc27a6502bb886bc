import type { Context, Extension } from '../context.js';
import type { PowerAction } from '../../shared/verbs/args.js';
import type { BootMode, DriverOptions, PowerDriver } from './driver.js';
import { powerFanout, type PowerResult } from './fanout.js';
import { groupDriverOptions, loadGroupDriverOptions } from './group-config.js';
import { createPowerDriver } from './registry.js';
import { AllowedPrograms } from '../process/allowed-programs.js';

/** The actions after which the node's machine boots. */
const STARTS_MACHINE: ReadonlySet<PowerAction> = new Set(['on', 'cycle', 'reset']);

export interface PowerRunOptions {
  concurrency?: number;
  staggerMs?: number;
  timeoutMs?: number;
  /** Who asked (`admin alice`, `policy phase-deadline`): in the events and the journal. */
  by: string;
  /** The admin (or the build hand-off) who asked: the node is marked as under their action (its effect is no failure), and the action journalled. */
  user?: string;
  /** Request id, so a CLI can follow the results of its own request on the event stream. */
  requestId?: string;
  /** Routine status polls: readings only, no `action` event per node. */
  quiet?: boolean;
  onResult?: (r: PowerResult) => void;
}

/**
 * The one way power actions reach drivers, manual and automatic alike: one action at a time per
 * node, the range's concurrency limit and stagger, each result published as an `action` event and
 * fed to the state manager as a power reading. A status read takes no action slot: the power sync
 * never makes an admin's or a policy's action wait or fail. With federation, every action passes
 * the power gate here (`driverFor`), whatever the driver.
 */
export class PowerService implements Extension {
  readonly name = 'power';
  private ctx!: Context;
  /** Nodes with an action (on, off, reset, cycle) in flight. */
  private readonly busy = new Set<string>();
  /** Per node, how many actions have started: a read that began before the latest start is stale. */
  private readonly actionsStarted = new Map<string, number>();
  private poller: NodeJS.Timeout | null = null;
  private byGroup = new Map<string, DriverOptions>();
  private programs!: AllowedPrograms;

  constructor(private readonly driverOptions: DriverOptions = {}) {}

  async start(ctx: Context): Promise<void> {
    this.ctx = ctx;
    this.byGroup = loadGroupDriverOptions(ctx.config.power.groups);
    this.programs = new AllowedPrograms(ctx.config.commands.allowedDirs);
    // Power sync (Ironic style): read every node's power now and then, so the power axis is a
    // recent reading, not the last action's guess. The first poll follows start-up closely.
    const every = ctx.config.power.pollIntervalS * 1000;
    if (every > 0) {
      const poll = () => void this.poll().finally(() => (this.poller = setTimeout(poll, every).unref()));
      this.poller = setTimeout(poll, Math.min(every, 2000)).unref();
    }
  }

  async stop(): Promise<void> {
    if (this.poller) clearTimeout(this.poller);
    this.poller = null;
  }

  /** Read the power state of every node that has a power target. */
  async poll(): Promise<void> {
    const { ownership } = this.ctx;
    // With federation, each node's owner reads it.
    const nodes = this.ctx.nodes.names().filter((n) => this.ctx.nodes.get(n)?.power && (!ownership || ownership.owns(n)));
    if (nodes.length) await this.run('status', nodes, { by: 'power sync', quiet: true });
  }

  /** A power action (not a status read) on the node is running: its next one would be refused. */
  inFlight(node: string): boolean {
    return this.busy.has(node);
  }

  /** The driver options of the node's groups and of the controller (credentials, CA). */
  driverOptionsOf(node: string): DriverOptions {
    return this.driverOptionsFor(this.ctx.nodes.get(node)?.groups ?? []);
  }

  private driverOptionsFor(groups: readonly string[]): DriverOptions {
    return { ...groupDriverOptions(this.byGroup, groups), programs: this.programs, ...this.driverOptions };
  }

  /**
   * Builds (and drops) the driver a node in `groups` would get for `target`, so a bad target is
   * refused when it is given. Throws PowerTargetError naming the node and what is wrong.
   */
  checkTarget(node: string, target: string, groups: readonly string[]): void {
    createPowerDriver(target, node, this.driverOptionsFor(groups));
  }

  /**
   * The node's driver. With federation, its actions pass the power gate first (proof of ownership
   * in the database, controller/federation/node-ownership.ts) and abort when the node's partition
   * is lost; without it, the driver as it is.
   */
  driverFor(node: string): PowerDriver {
    const target = this.ctx.nodes.get(node)?.power;
    if (!target) throw new Error(`node ${node}: no power target (muster set ${node} power=URL)`);
    const driver = createPowerDriver(target, node, this.driverOptionsOf(node));
    return this.ctx.ownership ? this.ctx.ownership.gate(driver) : driver;
  }

  /**
   * Tells the node's BMC to boot it from the network once, before a power action that should boot
   * it into a netboot build. Never throws: a kind that cannot is logged at debug, a failure is an
   * `action` event; either way the node then boots by its own boot order.
   */
  async netbootOnce(node: string, mode: BootMode | null, by: string): Promise<void> {
    const { ctx } = this;
    let driver: PowerDriver;
    try {
      driver = this.driverFor(node);
    } catch (err) {
      ctx.log.debug({ node, err: (err as Error).message }, 'power: no one-time network boot without a usable power target');
      return;
    }
    if (!driver.netbootOnce) {
      ctx.log.debug({ node, kind: driver.kind }, 'power: this driver kind sets no boot device; the node boots by its own boot order');
      return;
    }
    const details = { action: 'power-bootdev', target: 'pxe', mode, by };
    try {
      await driver.netbootOnce(mode);
      ctx.publishEvent({ kind: 'action', node, agentId: null, message: `${node} next boot from the network (pxe${mode ? `, ${mode}` : ''}) (${by})`, details: { ...details, state: 'done' } });
    } catch (err) {
      const error = (err as Error).message;
      ctx.publishEvent({ kind: 'action', node, agentId: null, message: `${error}; the node boots by its own boot order`, details: { ...details, state: 'failed', error } });
    }
  }

  async run(action: PowerAction, nodes: readonly string[], opts: PowerRunOptions): Promise<PowerResult[]> {
    const { ctx } = this;
    const reading = action === 'status';
    // A routine read of a node mid-action would only see the action's intermediate state.
    const asked = reading && opts.quiet ? nodes.filter((n) => !this.busy.has(n)) : nodes;
    const free = asked.filter((n) => !this.busy.has(n));
    const busy: PowerResult[] = asked.filter((n) => this.busy.has(n)).map((node) => ({ node, ok: false, error: `node ${node}: another power action is in flight`, code: 'failed', ms: 0 }));
    for (const r of busy) this.report(action, r, opts, false);
    const startedBefore = new Map(free.map((n) => [n, this.actionsStarted.get(n) ?? 0]));
    if (!reading) {
      for (const n of free) {
        this.busy.add(n);
        this.actionsStarted.set(n, startedBefore.get(n)! + 1);
      }
    }
    try {
      const results = await powerFanout({
        action,
        nodes: free,
        driverFor: (n) => this.driverFor(n),
        concurrency: opts.concurrency ?? ctx.config.power.concurrency,
        staggerMs: opts.staggerMs ?? ctx.config.power.staggerMs,
        timeoutMs: opts.timeoutMs,
        onStart: (node) => {
          ctx.metrics.powerInFlight.started();
          if (!reading && opts.user) ctx.events.emit('power:admin-started', { node, action, by: opts.user, at: ctx.now() });
        },
        onResult: (r) => {
          ctx.metrics.powerInFlight.finished();
          if (!reading) this.busy.delete(r.node);
          if (!reading && opts.user) ctx.events.emit('power:admin-finished', { node: r.node, action, ok: r.ok, detail: r.error ?? null, at: ctx.now() });
          // An action started on the node while it was being read: the reading predates it.
          const stale = reading && (this.actionsStarted.get(r.node) ?? 0) !== startedBefore.get(r.node);
          this.report(action, r, opts, stale);
        },
      });
      return [...busy, ...results];
    } finally {
      if (!reading) for (const n of free) this.busy.delete(n);
    }
  }

  /** `stale`: a status read an action overtook; its result is told but not taken as the node's power. */
  private report(action: PowerAction, r: PowerResult, opts: PowerRunOptions, stale: boolean): void {
    const { ctx } = this;
    const reading = r.ok ? (action === 'status' ? r.state : action === 'off' ? 'off' : 'on') : undefined;
    if (opts.quiet) {
      if (stale) return;
      ctx.events.emit('power:reading', { node: r.node, power: reading ?? 'unknown', at: ctx.now() });
      return;
    }
    ctx.metrics.actions.inc({ action: `power-${action}`, outcome: r.ok ? 'ok' : 'failed' });
    ctx.publishEvent({
      kind: 'action',
      node: r.node,
      agentId: null,
      message: r.ok ? `${r.node} power ${action}${r.state ? `: ${r.state}` : ''} (${opts.by}, ${r.ms} ms)` : `${r.node} power ${action} failed: ${r.error}`,
      details: { action: `power-${action}`, state: r.ok ? 'done' : 'failed', by: opts.by, requestId: opts.requestId ?? null, result: r },
    });
    if (reading && !stale) ctx.events.emit('power:reading', { node: r.node, power: reading, at: ctx.now() });
    if (r.ok && STARTS_MACHINE.has(action)) ctx.events.emit('node:booting', { node: r.node, what: `power ${action} (${opts.by})`, at: ctx.now() });
  }
}
