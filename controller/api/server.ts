import { randomBytes } from 'node:crypto';
import { roleAtLeast, type Role } from '../../shared/auth.js';
import { MusterError } from '../../shared/errors.js';
import { PROTOCOL_VERSION, Request, parseMessage, type Response } from '../../shared/protocol.js';
import { changesStore, requiredRole } from '../auth/roles.js';
import type { Context, Extension } from '../context.js';
import type { Verb } from './verb.js';

/**
 * Request/response over plain MQTT 3.1.1 topics: `muster/request/<verb>` with `{id, replyTo,
 * args}`, answered on `muster/response/<replyTo>` with `{id, ok, data | error, code}`. A verb's
 * arguments, result and role are its catalog entry's (shared/verbs/catalog.ts); the caller is
 * the user the broker authenticated, never a name in the arguments.
 */
export class ApiServer implements Extension {
  readonly name = 'api';
  private readonly verbs = new Map<string, Verb>();
  private unsubscribe: (() => Promise<void>) | null = null;
  private ctx!: Context;

  constructor(verbs: Verb[]) {
    for (const v of verbs) this.verbs.set(v.name, v);
  }

  add(...verbs: Verb[]): void {
    for (const v of verbs) this.verbs.set(v.name, v);
  }

  /** The verbs this server answers, sorted. */
  names(): string[] {
    return [...this.verbs.keys()].sort();
  }

  async start(ctx: Context): Promise<void> {
    this.ctx = ctx;
    this.unsubscribe = await ctx.bus.subscribe(ctx.topics.allRequests, (topic, payload) => void this.handle(topic, payload));
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }

  private async handle(topic: string, payload: Buffer): Promise<void> {
    const { ctx } = this;
    const t = ctx.topics.parse(topic);
    if (!t || t.area !== 'request') return;
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      ctx.metrics.rejected.inc({ reason: 'json' });
      return void ctx.log.warn({ topic }, 'request rejected: not JSON');
    }
    const req = parseMessage(Request, json);
    if (!req.ok) {
      ctx.metrics.rejected.inc({ reason: 'schema' });
      return void ctx.log.warn({ topic, reason: req.error }, 'request rejected');
    }
    const { id, replyTo, args } = req.value;
    const reply = (r: Omit<Response, 'v' | 'id'>) =>
      ctx.bus.publish(ctx.topics.response(replyTo), JSON.stringify({ v: PROTOCOL_VERSION, id, ...r }), { qos: 1 }).catch((err: Error) => ctx.log.error({ err: err.message }, 'response publish failed'));
    const v = this.verbs.get(t.verb);
    if (!v) {
      ctx.metrics.requests.inc({ verb: 'unknown', outcome: 'error' });
      return void reply({ ok: false, error: `unknown request "${t.verb}"; known: ${this.names().join(', ')}`, code: 'unknown-verb' });
    }
    // Who asked, as the broker authenticated the client that published (its replyTo, checked by the broker).
    const who = ctx.auth.who(replyTo);
    if (!who || who.kind !== 'user') {
      ctx.metrics.rejected.inc({ reason: 'role' });
      return void ctx.log.warn({ verb: v.name, replyTo }, 'request refused: the requester is not a connected user');
    }
    const refuse = (needed: Role) => {
      ctx.metrics.rejected.inc({ reason: 'role' });
      ctx.metrics.requests.inc({ verb: v.name, outcome: 'error' });
      ctx.log.warn({ verb: v.name, user: who.name, role: who.role, needed }, 'request refused: role');
      return reply({ ok: false, error: `${v.name}: needs the ${needed} role; ${who.name} is ${who.role}`, code: 'role' });
    };
    // The verb's least role first: its arguments are nobody's business below that.
    const least = requiredRole(v.name, null);
    if (!roleAtLeast(who.role, least)) return void refuse(least);
    const parsed = parseMessage(v.args, args);
    if (!parsed.ok) {
      ctx.metrics.requests.inc({ verb: v.name, outcome: 'error' });
      return void reply({ ok: false, error: `${v.name}: ${parsed.error}`, code: 'bad-arguments' });
    }
    const needed = requiredRole(v.name, parsed.value as Record<string, unknown>);
    if (!roleAtLeast(who.role, needed)) return void refuse(needed);
    const unwritable = ctx.store.error;
    if (unwritable && changesStore(v.name, needed)) {
      ctx.metrics.requests.inc({ verb: v.name, outcome: 'error' });
      return void reply({ ok: false, error: `${v.name}: store not writable: ${unwritable.message}; changes are refused until a write succeeds (it is retried)`, code: 'store-not-writable' });
    }
    try {
      const data = await v.handle(parsed.value, ctx, { replyTo, user: who.name, role: who.role });
      ctx.metrics.requests.inc({ verb: v.name, outcome: 'ok' });
      await reply({ ok: true, data });
    } catch (err) {
      ctx.metrics.requests.inc({ verb: v.name, outcome: 'error' });
      if (err instanceof MusterError) return void (await reply({ ok: false, error: err.message, code: err.code }));
      const requestId = randomBytes(4).toString('hex');
      ctx.log.error({ verb: v.name, requestId, user: who.name, err: (err as Error).stack ?? String(err) }, 'request failed');
      await reply({ ok: false, error: `internal error (request ${requestId}); see the controller log`, code: 'internal' });
    }
  }
}
