import type { Context, Extension } from '../context.js';
import type { ControllerEvents, EventOwner } from '../events.js';
import { openHwlogIssue } from '../records/hwlog-service.js';
import type { NodeDefinition } from '../store/schema.js';
import { nodePatterns } from './config.js';
import { SimConsole, simConsole } from './drivers/sim.js';
import { ConsoleManager } from './manager.js';

/**
 * Keeps every defined node's console open and logged (ConMan style), publishes its bytes live on
 * `muster/consoles/<node>/out`, turns pattern matches into `console` events and state evidence,
 * and follows changes to nodes' `console=` settings. With federation, only the consoles of the
 * nodes this controller owns: they open and close as partitions are gained and lost, with a
 * `[muster] console handed over …` line in the log.
 */
export class ConsoleService implements Extension {
  readonly name = 'console';
  private ctx!: Context;
  private manager!: ConsoleManager;
  /** The console target and patterns each node was opened with, to notice changes. */
  private readonly opened = new Map<string, string>();
  private readonly sims = new Map<string, SimConsole>();
  /** Each node's sync in progress (sync() runs them one after another). */
  private readonly syncing = new Map<string, Promise<void>>();
  private events!: EventOwner;

  async start(ctx: Context): Promise<void> {
    this.ctx = ctx;
    const { rotation, backoff, hwlog } = ctx.config.consoles;
    this.manager = new ConsoleManager({
      dataDir: ctx.config.dataDir,
      rotation,
      backoff,
      now: ctx.now,
      // The bus refuses only while the broker closes; the output is in the console log regardless.
      onOutput: (node, chunk) => void ctx.bus.publish(ctx.topics.consoleOut(node), chunk).catch(() => {}),
      onMatch: (m) => {
        ctx.publishEvent({ kind: 'console', node: m.node, agentId: null, at: m.at, message: `${m.node} console: ${m.pattern}: ${m.line.slice(0, 200)}`, details: { pattern: m.pattern, line: m.line } });
        ctx.events.emit('console:pattern', { node: m.node, pattern: m.pattern, line: m.line, at: m.at });
        if (hwlog.includes(m.pattern)) this.openIssue(m.node, m.pattern, m.line, m.at);
      },
      onStatus: (s) => ctx.log.info({ node: s.node, connected: s.connected, reason: s.reason }, 'console status'),
      onError: (node, err) => ctx.log.error({ node, err: err.message }, 'console error'),
    });
    for (const name of ctx.nodes.names()) await this.sync(name);
    this.events = ctx.events.owner(this.name);
    this.events.on('node:changed', ({ node }) => void this.sync(node));
    this.events.on('ownership:changed', (change) => void this.handOver(change));
  }

  /**
   * Opens the consoles of the nodes of gained partitions and closes those of lost ones, each with
   * a line naming the other controller where known. (A partition claimed again at a new epoch is
   * both gained and lost: its consoles stay as they are.)
   */
  private async handOver({ gained, lost, from, to }: ControllerEvents['ownership:changed']): Promise<void> {
    const ownership = this.ctx.ownership;
    if (!ownership) return;
    const moved = new Set([...gained, ...lost]);
    const nodes = this.ctx.nodes.names().filter((n) => moved.has(ownership.partitionOf(n)));
    await Promise.all(
      nodes.map((node) => {
        const p = ownership.partitionOf(node);
        const other = gained.includes(p) ? from.get(p) : to.get(p);
        const note = gained.includes(p)
          ? other ? `console handed over from ${other}` : null
          : other ? `console handed over to ${other}` : `console released: this controller no longer owns partition ${p}`;
        return this.sync(node, note);
      }),
    );
  }

  async stop(): Promise<void> {
    this.events.off();
    await this.manager.close();
  }

  get consoles(): ConsoleManager {
    return this.manager;
  }

  /** The simulated console of a demo node (to make it print boot text or a panic). */
  sim(node: string): SimConsole | undefined {
    return this.sims.get(node);
  }

  /**
   * Makes a client the writer of `node`'s console. A holder whose client is gone (a CLI that was
   * killed) is dropped first, so it needs no force. A forced takeover is published as a `console`
   * event naming the displaced client, which its CLI waits for to say so at once.
   */
  attach(node: string, clientId: string, who: string, force: boolean): { displaced: string | null } {
    const holder = this.manager.writer(node);
    if (holder && holder.clientId !== clientId && !this.ctx.auth.who(holder.clientId)) this.manager.releaseWriter(node, holder.clientId);
    const { displaced } = this.manager.claimWriter(node, clientId, { who, force });
    if (displaced) {
      this.ctx.publishEvent({
        kind: 'console',
        node,
        agentId: null,
        message: `${node} console: writer ${who} took over from ${displaced.who}`,
        details: { writer: who, displaced: displaced.who, displacedClient: displaced.clientId },
      });
    }
    return { displaced: displaced?.who ?? null };
  }

  /** The last lines of a node's console log; null when it has no console here. */
  async tail(node: string, lines: number): Promise<string[] | null> {
    if (!this.opened.has(node)) return null;
    return this.manager.tail(node, lines);
  }

  /** A configured hwlog pattern matched: one open issue per node and pattern (hwlog dedups by text). */
  private openIssue(node: string, pattern: string, line: string, at: number): void {
    try {
      openHwlogIssue(this.ctx, { node, text: `console: ${pattern}`, source: 'console', evidence: { line, at } });
    } catch (err) {
      this.ctx.log.error({ node, pattern, err: (err as Error).message }, 'console hwlog issue not opened');
    }
  }

  /**
   * Open, reopen or close a node's console to match its definition (target, and patterns by its
   * groups). One at a time per node, so a caller that awaits it (the demo, before it boots the
   * node) finds the console open, also when a `node:changed` began the same sync first.
   */
  async sync(name: string, handover: string | null = null): Promise<void> {
    const run = (this.syncing.get(name) ?? Promise.resolve()).then(() => this.apply(name, handover));
    this.syncing.set(name, run);
    try {
      await run;
    } finally {
      if (this.syncing.get(name) === run) this.syncing.delete(name);
    }
  }

  /** `handover`: the line to log when this opens or closes the console (ownership moved). */
  private async apply(name: string, handover: string | null): Promise<void> {
    const node: NodeDefinition | undefined = this.ctx.nodes.get(name);
    // With federation, a console is kept by its node's owner only (SOL allows one session).
    const target = this.ctx.ownership && !this.ctx.ownership.owns(name) ? null : (node?.console ?? null);
    const patterns = nodePatterns(this.ctx.config.consoles, name, node?.groups ?? []);
    const key = target ? `${target}\n${JSON.stringify(patterns)}` : null;
    if (key === (this.opened.get(name) ?? null)) return;
    this.sims.delete(name);
    if (!target || key === null) {
      if (handover && this.opened.has(name)) this.manager.note(name, handover);
      this.opened.delete(name);
      return void (await this.manager.remove(name));
    }
    this.opened.set(name, key);
    try {
      const sim = simConsole.claims(target) ? new SimConsole(name) : undefined;
      if (sim) this.sims.set(name, sim);
      await this.manager.add(name, { ...(sim ? { driver: sim } : { target, ipmiUrl: node?.power ?? undefined }), patterns });
      if (handover) this.manager.note(name, handover);
    } catch (err) {
      this.opened.delete(name);
      this.sims.delete(name);
      this.ctx.log.error({ node: name, err: (err as Error).message }, 'console not opened');
    }
  }
}
