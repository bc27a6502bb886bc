/**
 * Each agent's own secret: issued after a hello made with the bootstrap token, sent on
 * `muster/credentials/<agentId>` (which the broker delivers to that client id alone), kept only as
 * a SHA-256 in the agent's record, and confirmed when the agent says it stored it. From then on the
 * token no longer lets anyone take over that agent's live session, and brings a node's agent back
 * only right after muster saw the node boot (authenticator.ts, reintroduction.ts): this extension
 * gathers that evidence and tells the node's admins of each connect refused for it. With an
 * external broker the controller cannot tell how an agent authenticated, and issues nothing.
 */
import { PROTOCOL_VERSION, type AgentCredential } from '../../shared/protocol.js';
import type { Context, Extension } from '../context.js';
import type { ControllerEvents, EventOwner } from '../events.js';
import { newAgentSecret, tokenHash } from './tokens.js';

export class AgentCredentials implements Extension {
  readonly name = 'agent-credentials';
  private ctx!: Context;
  private events!: EventOwner;

  async start(ctx: Context): Promise<void> {
    this.ctx = ctx;
    this.events = ctx.events.owner(this.name);
    // After identification's listener (it starts first): the hello's agent record exists.
    this.events.on('agent:hello', ({ agentId, msg, at }) => this.issue(agentId, msg.bootId, at));
    this.events.on('agent:credential', ({ agentId, msg, at }) => this.confirm(agentId, msg.hash, at));
    const { reintroductions } = ctx.auth;
    this.events.on('node:booting', ({ node, what, at }) => reintroductions.bootSeen(node, what, at));
    // An admin who decided a node's identity vouches for the machine that comes back as it.
    this.events.on('conflict:cleared', ({ node, by, at }) => reintroductions.bootSeen(node, `identity decided by ${by}`, at));
    this.events.on('node:changed', ({ node, change }) => change === 'removed' && reintroductions.forget(node));
    this.events.on('agent:claim-refused', (refused) => this.claimRefused(refused));
  }

  async stop(): Promise<void> {
    this.events.off();
  }

  /**
   * A hello over a session the token opened: the agent gets a new secret (the previous one, if
   * any, stops working). One it has not confirmed is sent again only to a new boot: an agent that
   * never confirms (an older agent) would otherwise cost a store change per reconnect.
   */
  private issue(agentId: string, bootId: string, at: number): void {
    const { ctx } = this;
    const who = ctx.auth.who(agentId);
    if (who?.kind !== 'agent' || who.proof !== 'token' || !Object.hasOwn(ctx.store.data.agents, agentId)) return;
    const held = ctx.store.data.agents[agentId]!.credential;
    if (held && held.confirmedAt === null && held.bootId === bootId) return;
    const secret = newAgentSecret();
    // The confirmed secret this one replaces stays known: presented again, it is a second claimant.
    const previousHash = held?.confirmedAt != null ? held.hash : (held?.previousHash ?? null);
    ctx.store.change(
      (d) => {
        d.agents[agentId]!.credential = { hash: tokenHash(secret), issuedAt: at, bootId, confirmedAt: null, previousHash };
      },
      { agents: [agentId] },
    );
    const message: AgentCredential = { v: PROTOCOL_VERSION, agentId, secret };
    ctx.bus.publish(ctx.topics.credential(agentId), JSON.stringify(message), { qos: 1, retain: false }).catch((err: Error) => ctx.log.error({ agentId, err: err.message }, 'agent secret not sent'));
  }

  /**
   * A connect as a node's agent refused (authenticator.ts): a `conflict` event once per refused
   * re-introduction (until muster next sees the node boot), or once per claim that holds the node.
   */
  private claimRefused({ agentId, node, hold, reason, at }: ControllerEvents['agent:claim-refused']): void {
    const { ctx } = this;
    if (!ctx.nodes.get(node)) return;
    if (hold) {
      if (ctx.nodeStates.conflict(node)) return;
      ctx.events.emit('conflict:raised', { node, agentId, reason, at });
    } else if (!ctx.auth.reintroductions.noteRefused(node, { agentId, reason, since: at })) return;
    ctx.log.warn({ agentId, node }, reason);
    ctx.publishEvent({ kind: 'conflict', node, agentId, message: reason, details: { nodes: [node], reason, held: hold } });
  }

  /** The agent stored the secret whose hash it names: only the one issued last counts. */
  private confirm(agentId: string, hash: string, at: number): void {
    const { ctx } = this;
    const credential = Object.hasOwn(ctx.store.data.agents, agentId) ? ctx.store.data.agents[agentId]!.credential : null;
    if (!credential || credential.hash !== hash || credential.confirmedAt !== null) return;
    ctx.store.change(
      (d) => {
        d.agents[agentId]!.credential!.confirmedAt = at;
      },
      { agents: [agentId] },
    );
    ctx.log.info({ agentId }, 'agent stored its own secret: the bootstrap token no longer takes over its session');
  }
}
