import type { Hello } from '../../shared/protocol.js';
import { normalizeMac } from '../../shared/protocol.js';
import { MusterError } from '../../shared/errors.js';
import type { Context, Extension } from '../context.js';
import type { EventOwner } from '../events.js';
import { partitionedPlane } from '../federation/agent-plane.js';
import { DiscoveredAgents } from './discovered-limits.js';
import type { Drift } from './drift.js';
import { identifiersOf, switchPortOf } from './identifiers.js';
import { SiteIndex, identify, type Decision } from './rules.js';
import { firmwareSettings, recordReportedBios } from '../records/bios.js';
import { openHwlogIssue } from '../records/hwlog-service.js';
import { lldpMismatch } from '../records/switches.js';

/**
 * Applies the identification rules to every hello and records the outcome: binds agents to nodes,
 * lists the unknown ones as discovered, and reports conflicts and drift as events, never merging
 * two machines silently. Also the agent → node lookup the state manager uses.
 */
export class Identification implements Extension {
  readonly name = 'identify';
  private ctx!: Context;
  private index: SiteIndex | null = null;
  private indexVersion = -1;
  private readonly live = new Set<string>();
  /** The last hello of each agent seen since start: an admin assign needs its boot and phase. */
  private readonly lastHello = new Map<string, Hello>();
  /** What was last reported per agent, so a repeated hello does not repeat the event. */
  private readonly reported = new Map<string, string>();
  private events!: EventOwner;
  /** Unbound live agents are identified again once the definitions settle (one pass per burst). */
  private reidentify: NodeJS.Immediate | null = null;
  private discoveredAgents!: DiscoveredAgents;
  /** Evictions not yet logged: one warning a minute at most, whatever a flood of new ids does. */
  private evictions = { unlogged: 0, loggedAt: -Infinity };

  async start(ctx: Context): Promise<void> {
    this.ctx = ctx;
    this.events = ctx.events.owner(this.name);
    this.discoveredAgents = new DiscoveredAgents(ctx.config.limits.maxDiscoveredAgents, Object.values(ctx.store.data.agents));
    this.events.on('agent:hello', ({ agentId, msg, at }) => this.onHello(agentId, msg, at));
    this.events.on('agent:status', ({ agentId, msg }) => {
      if (!msg.online) this.live.delete(agentId);
    });
    // A node defined or changed (define, import, set) may be the one an agent already here is:
    // without this, it would stay unbound until it reconnects.
    this.events.on('node:changed', ({ change }) => {
      if (change === 'defined' || change === 'set' || change === 'imported') this.identifyUnboundSoon();
    });
    // Partitions gained may be the discovery partitions of unbound agents already here.
    this.events.on('ownership:changed', ({ gained }) => {
      if (gained.length > 0) this.identifyUnboundSoon();
    });
    // Built now, not by the first hello: with a naming rule over 10k names the build is ~30 ms,
    // which a discovery storm would otherwise add to its busiest loop turn.
    try {
      this.siteIndex();
    } catch (err) {
      // A bad definition in the store: reported here, and again by each hello until fixed.
      ctx.log.error({ err: (err as Error).message }, 'identification index');
    }
  }

  async stop(): Promise<void> {
    this.events.off();
    if (this.reidentify) clearImmediate(this.reidentify);
  }

  /** The node an agent is bound to, or null. */
  nodeOf(agentId: string): string | null {
    return this.ctx.store.data.agents[agentId]?.node ?? null;
  }

  private siteIndex(): SiteIndex {
    const version = this.ctx.nodes.version;
    if (!this.index || this.indexVersion !== version) {
      const d = this.ctx.store.data;
      this.index = new SiteIndex({ nodes: d.nodes, switchPorts: d.switchPorts, naming: d.naming, agents: d.agents, liveAgents: this.live });
      this.indexVersion = version;
    }
    return this.index;
  }

  /**
   * Whether this controller records and identifies the agent's hellos. With federation on shared
   * brokers every controller hears every hello, and one acts on it: the owner of the node it is
   * bound to, or for an agent bound to none the owner of its discovery partition, so an unknown
   * agent is discovered and named once (docs/federation.md). The others keep it in mind only.
   */
  private handles(agentId: string): boolean {
    const ownership = partitionedPlane(this.ctx);
    if (!ownership) return true;
    const node = this.nodeOf(agentId);
    return node === null ? ownership.discovers(agentId) : ownership.owns(node);
  }

  private onHello(agentId: string, hello: Hello, at: number): void {
    if (!this.handles(agentId)) {
      this.live.add(agentId);
      this.lastHello.set(agentId, hello);
      return;
    }
    this.handleHello(agentId, hello, at);
  }

  /** Records the agent's hello in its store record (made at its first) and identifies it. */
  private handleHello(agentId: string, hello: Hello, at: number): void {
    const { ctx } = this;
    const isNewBoot = ctx.store.data.agents[agentId]?.bootId !== hello.bootId;
    ctx.store.change(
      (d) => {
        const a = d.agents[agentId];
        if (a) Object.assign(a, { lastSeen: at, bootId: hello.bootId, fingerprint: hello.fingerprint });
        else d.agents[agentId] = { agentId, firstSeen: at, lastSeen: at, bootId: hello.bootId, fingerprint: hello.fingerprint, node: null, credential: null };
      },
      { agents: [agentId] },
    );
    this.lastHello.set(agentId, hello);
    this.identifyAgent(agentId, hello, at, isNewBoot);
    this.keepDiscoveredBounded(agentId, at);
  }

  /** At most `limits.maxDiscoveredAgents` unbound agents are kept: past it, the one whose last hello is oldest is forgotten. */
  private keepDiscoveredBounded(agentId: string, at: number): void {
    const { ctx } = this;
    if (this.nodeOf(agentId) !== null) return;
    const evicted = this.discoveredAgents.saidHello(agentId, (id) => ctx.store.data.agents[id]?.node === null);
    if (evicted.length === 0) return;
    ctx.store.change(
      (d) => {
        for (const id of evicted) delete d.agents[id];
      },
      { agents: evicted },
    );
    for (const id of evicted) {
      this.live.delete(id);
      this.lastHello.delete(id);
      this.reported.delete(id);
      this.reported.delete(`${id} lldp`);
    }
    ctx.metrics.discoveredEvicted.inc(evicted.length);
    this.evictions.unlogged += evicted.length;
    if (at - this.evictions.loggedAt < 60_000) return;
    ctx.log.warn({ evicted: this.evictions.unlogged, last: evicted.at(-1), max: ctx.config.limits.maxDiscoveredAgents }, 'discovered agents over limits.maxDiscoveredAgents: forgot the ones whose last hello is oldest');
    this.evictions = { unlogged: 0, loggedAt: at };
  }

  private identifyUnboundSoon(): void {
    if (this.reidentify === null) this.reidentify = setImmediate(() => this.identifyUnbound());
  }

  private identifyUnbound(): void {
    this.reidentify = null;
    const at = this.ctx.now();
    for (const agentId of this.live) {
      const hello = this.lastHello.get(agentId);
      if (!hello || this.nodeOf(agentId) !== null || !this.handles(agentId)) continue;
      // A hello heard while another controller was to handle it (federation; this one was fenced,
      // or its discovery partition was elsewhere) has no record here yet: handled whole now.
      if (Object.hasOwn(this.ctx.store.data.agents, agentId)) this.identifyAgent(agentId, hello, at, false);
      else this.handleHello(agentId, hello, at);
    }
  }

  /** Applies the rules to an agent's (last) hello and acts on the decision. */
  private identifyAgent(agentId: string, hello: Hello, at: number, isNewBoot: boolean): void {
    const { ctx } = this;
    let decision: Decision;
    try {
      decision = identify(hello, this.siteIndex());
    } catch (err) {
      // A bad definition in the store (e.g. an unparseable MAC) must not stop identification of others.
      ctx.log.error({ agentId, err: (err as Error).message }, 'identification failed');
      return;
    }
    this.live.add(agentId);
    switch (decision.kind) {
      case 'known':
        this.reportDrift(decision.node, agentId, decision.drift);
        this.checkRecords(decision.node, agentId, hello, at);
        ctx.events.emit('node:bound', { node: decision.node, agentId, hello, at, newBinding: false });
        return;
      case 'match':
      case 'name': {
        const by = decision.kind === 'name' ? 'naming' : decision.by;
        this.bind(decision.node, agentId, hello, by, at, false);
        if (decision.kind === 'match') this.reportDrift(decision.node, agentId, decision.drift);
        this.checkRecords(decision.node, agentId, hello, at);
        return;
      }
      case 'discovered':
        if (isNewBoot || !this.reported.has(agentId)) {
          this.reported.set(agentId, 'discovered');
          const ids = identifiersOf(hello.fingerprint);
          ctx.publishEvent({
            kind: 'discovered',
            node: null,
            agentId,
            message: `new agent ${agentId} (${[hello.fingerprint.dmi.product, ids.macs[0]].filter(Boolean).join(', ')}): assign it with \`muster assign ${agentId} NODE\``,
            details: { macs: ids.macs, serial: ids.serial, uuid: ids.uuid, ibGuids: ids.ibGuids, product: hello.fingerprint.dmi.product, phase: hello.phase },
          });
        }
        return;
      case 'conflict': {
        this.holdConflicted(decision.nodes, agentId, decision.reason, at);
        const key = `conflict:${decision.reason}`;
        if (this.reported.get(agentId) !== key || isNewBoot) {
          this.reported.set(agentId, key);
          ctx.publishEvent({
            kind: 'conflict',
            node: decision.nodes[0] ?? null,
            agentId,
            message: `agent ${agentId} not bound: ${decision.reason}`,
            details: { nodes: decision.nodes, reason: decision.reason },
          });
        }
        return;
      }
    }
  }

  /** A contradicted claim holds the defined nodes it names until an admin decides (state manager). */
  private holdConflicted(nodes: readonly string[], agentId: string, reason: string, at: number): void {
    for (const node of nodes) if (this.ctx.nodes.get(node)) this.ctx.events.emit('conflict:raised', { node, agentId, reason, at });
  }

  /** `muster assign AGENT_ID|MAC NODE`: an admin binds a seen agent to a name, which decides a conflict on it. */
  async assign(agentRef: string, node: string, force: boolean, by: string): Promise<{ node: string; agentId: string }> {
    const { ctx } = this;
    const d = ctx.store.data;
    const mac = normalizeMac(agentRef);
    const agent = d.agents[agentRef] ?? (mac ? Object.values(d.agents).find((a) => identifiersOf(a.fingerprint).macs.includes(mac)) : undefined);
    if (!agent) throw new MusterError(`no agent ${agentRef} has said hello (see \`muster discovered\`)`, 'unknown-agent');
    const holder = ctx.nodes.get(node)?.agentId;
    if (holder && holder !== agent.agentId && !force) throw new MusterError(`node ${node} is already bound to ${holder} (use --force to move it)`, 'already-bound');
    if (agent.node && agent.node !== node && !force) throw new MusterError(`agent ${agent.agentId} is already ${agent.node} (use --force to rename it)`, 'already-bound');
    const hello = this.lastHello.get(agent.agentId) ?? null;
    this.bind(node, agent.agentId, hello, 'admin', ctx.now(), true, agent.fingerprint);
    ctx.events.emit('conflict:cleared', { node, by, at: ctx.now() });
    await ctx.store.flush();
    return { node, agentId: agent.agentId };
  }

  private bind(node: string, agentId: string, hello: Hello | null, by: string, at: number, replaceIds: boolean, fingerprint = hello!.fingerprint): void {
    const { ctx } = this;
    const created = !ctx.nodes.get(node);
    const indexCurrent = this.index !== null && this.indexVersion === ctx.nodes.version;
    ctx.nodes.bind(node, agentId, fingerprint, identifiersOf(fingerprint), at, replaceIds);
    // A rule's binding only adds identifiers: update the index rather than rebuild it per hello.
    if (indexCurrent && !replaceIds) {
      this.index!.nodeChanged(node);
      this.indexVersion = ctx.nodes.version;
    }
    this.reported.delete(agentId);
    ctx.publishEvent({ kind: 'assigned', node, agentId, message: `${agentId} is ${node} (by ${by})`, details: { by, created } });
    ctx.events.emit('node:bound', { node, agentId, hello, at, newBinding: true });
  }

  /** A changed board or NIC on an assigned node is an event and a hardware-log issue, once. */
  private reportDrift(node: string, agentId: string, drift: Drift[]): void {
    if (drift.length === 0) return;
    const key = `drift:${JSON.stringify(drift)}`;
    if (this.reported.get(agentId) === key) return;
    this.reported.set(agentId, key);
    const text = `hardware changed since it was assigned: ${drift.map((x) => `${x.field} ${JSON.stringify(x.was)} → ${JSON.stringify(x.now)}`).join(', ')}`;
    this.ctx.publishEvent({ kind: 'drift', node, agentId, message: `${node}: ${text}`, details: { changes: drift } });
    openHwlogIssue(this.ctx, { node, text, source: 'drift', evidence: { agentId, changes: drift } });
  }

  /** What the hello says against the site's records: BIOS version and firmware reported, LLDP against the port map. */
  private checkRecords(node: string, agentId: string, hello: Hello, at: number): void {
    const { ctx } = this;
    const { dmi, firmware } = hello.fingerprint;
    // Touches data.bios only: no record of nodes or agents.
    if (dmi.biosVersion || firmware) ctx.store.change((d) => recordReportedBios(d, node, { ...(dmi.biosVersion && { version: dmi.biosVersion }), ...(firmware && { os: firmwareSettings(firmware) }), at }), {});
    const mismatch = lldpMismatch(ctx.store.data, node, switchPortOf(hello.fingerprint));
    if (!mismatch) return;
    const key = `lldp:${JSON.stringify(mismatch)}`;
    if (this.reported.get(`${agentId} lldp`) === key) return;
    this.reported.set(`${agentId} lldp`, key);
    const expected = mismatch.expected.map((e) => `${e.switch} ${e.port}`).join(' or ');
    ctx.publishEvent({ kind: 'drift', node, agentId, message: `${node}: cabled to ${mismatch.reported.switch} ${mismatch.reported.port}, the port map says ${expected}`, details: { lldp: mismatch } });
  }

  /** Agents that said hello but are not bound, for `muster discovered`. */
  discovered() {
    return Object.values(this.ctx.store.data.agents)
      .filter((a) => a.node === null)
      .map((a) => {
        const ids = identifiersOf(a.fingerprint);
        return { agentId: a.agentId, macs: ids.macs, serial: ids.serial, uuid: ids.uuid, product: a.fingerprint.dmi.product, lastSeen: a.lastSeen, live: this.live.has(a.agentId), phase: this.lastHello.get(a.agentId)?.phase ?? null };
      })
      .sort((a, b) => b.lastSeen - a.lastSeen);
  }
}
