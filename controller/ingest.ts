import { AgentState, AgentStatus, CredentialStored, Heartbeat, Hello, MAX_PAYLOAD_BYTES, PROTOCOL_VERSION, parseMessage } from '../shared/protocol.js';
import type { Context, Extension } from './context.js';
import { PartitionedAgentPlane, partitionedPlane } from './federation/agent-plane.js';
import { fingerprintRefusal } from './identify/discovered-limits.js';
import { TurnBudget } from './turn-budget.js';

const SCHEMAS = { hello: Hello, state: AgentState, heartbeat: Heartbeat, status: AgentStatus, credential: CredentialStored } as const;
/**
 * A loop turn spends at most ~10 ms on agent messages; the rest of a burst waits for the next turns.
 * In a discovery storm the first hellos arrive by the hundred in one turn, before the code is
 * optimised: handled at once they held the loop for 50-100 ms. At most 1 MiB waits, counted as
 * payload + 256 bytes (~3,000 heartbeats of ~80 bytes, 1.5 s of them at 10k nodes; ~1,200 hellos
 * of ~600); beyond that the oldest are handled at once, so overload slows the broker, not memory.
 */
const SLICE_MS = 10;
const MAX_WAITING_BYTES = 1024 * 1024;
/** Strict: a lenient decode would turn invalid bytes into U+FFFD and let them into the store. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Every agent message passes here first: topic, size, UTF-8, JSON, protocol version and schema are
 * checked; a bad message is logged with the reason, counted and dropped, and the rest of the
 * controller only ever sees typed, valid messages on the event bus.
 */
export class Ingest implements Extension {
  readonly name = 'ingest';
  private ctx!: Context;
  private unsubscribe: (() => Promise<void>) | null = null;
  private readonly budget = new TurnBudget(SLICE_MS, MAX_WAITING_BYTES);
  /** Log throttle per source and kind of problem: a flood of garbage is one warning per 10 s. */
  private readonly lastWarned = new Map<string, number>();

  async start(ctx: Context): Promise<void> {
    this.ctx = ctx;
    const handler = (topic: string, payload: Buffer) => this.handle(topic, payload);
    // With federation on shared brokers, only the agents of the nodes this controller owns (and every hello).
    const ownership = partitionedPlane(ctx);
    if (ownership) {
      const plane = await PartitionedAgentPlane.start(ctx, ownership, handler);
      this.unsubscribe = () => plane.stop();
      return;
    }
    this.unsubscribe = await ctx.bus.subscribe(ctx.topics.allAgents, handler);
    ctx.metrics.agentSubscriptions.set(1);
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    const dropped = this.budget.clear();
    if (dropped > 0) this.ctx.log.warn({ dropped }, 'agent messages not handled before stop');
  }

  /** Handles a message now, or after those waiting for a later turn; `at` is when it arrived. */
  handle(topic: string, payload: Buffer): void {
    const at = this.ctx.now();
    if (this.budget.mayRunNow()) return this.accept(topic, payload, at);
    // Weighed by the bytes it holds: the payload, and ~256 for the topic, buffer and closure.
    this.budget.defer(() => this.accept(topic, payload, at), payload.length + 256);
  }

  private accept(topic: string, payload: Buffer, at: number): void {
    const t = this.ctx.topics.parse(topic);
    if (!t || t.area !== 'agent') return this.reject(topic, 'topic', `unknown topic ${topic}`);
    if (payload.length > MAX_PAYLOAD_BYTES) return this.reject(topic, 'size', `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
    let text: string;
    try {
      text = UTF8.decode(payload);
    } catch {
      return this.reject(topic, 'encoding', 'payload is not valid UTF-8');
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return this.reject(topic, 'json', `not JSON: ${(err as Error).message}`);
    }
    const version = (json as { v?: unknown } | null)?.v;
    if (version !== PROTOCOL_VERSION) return this.reject(topic, 'version', `protocol version ${JSON.stringify(version)} is not ${PROTOCOL_VERSION}`);
    const r = parseMessage(SCHEMAS[t.kind] as typeof Hello, json);
    if (!r.ok) return this.reject(topic, 'schema', r.error);
    const { agentId } = t;
    if (t.kind === 'hello' && (r.value as Hello).agentId !== agentId) return this.reject(topic, 'identity', `hello claims agent ${(r.value as Hello).agentId} on ${agentId}'s topic`);
    const oversize = t.kind === 'hello' ? fingerprintRefusal(agentId, (r.value as Hello).fingerprint, this.ctx.config.limits.maxFingerprintBytes) : null;
    if (oversize) return this.reject(topic, 'fingerprint', oversize);
    // Counted only once accepted: a refused message is in muster_rejected_messages_total alone.
    this.ctx.metrics.messages.count(t.kind);
    switch (t.kind) {
      case 'hello': {
        const msg = r.value as Hello;
        this.ctx.events.emit('agent:hello', { agentId, msg, at });
        return;
      }
      case 'state':
        return this.ctx.events.emit('agent:state', { agentId, msg: r.value as unknown as AgentState, at });
      case 'heartbeat':
        return this.ctx.events.emit('agent:heartbeat', { agentId, msg: r.value as unknown as Heartbeat, at });
      case 'status':
        return this.ctx.events.emit('agent:status', { agentId, msg: r.value as unknown as AgentStatus, at });
      case 'credential':
        return this.ctx.events.emit('agent:credential', { agentId, msg: r.value as unknown as CredentialStored, at });
    }
  }

  private reject(source: string, reasonClass: string, reason: string): void {
    const at = this.ctx.now();
    this.ctx.metrics.rejected.inc({ reason: reasonClass });
    this.ctx.events.emit('rejected', { source, reason, at });
    const key = `${source} ${reasonClass}`;
    const last = this.lastWarned.get(key) ?? -Infinity;
    if (at - last >= 10_000) {
      this.lastWarned.set(key, at);
      if (this.lastWarned.size > 10_000) this.lastWarned.clear();
      this.ctx.log.warn({ source, reason }, 'message rejected');
    }
  }
}
