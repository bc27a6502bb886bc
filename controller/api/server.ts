import { randomBytes } from 'node:crypto';
import { roleAtLeast, type Role } from '../../shared/auth.js';
import { MusterError } from '../../shared/errors.js';
import { compressNodeRange } from '../../shared/noderange-compress.js';
import { ForwardedRequest, PROTOCOL_VERSION, Request, decodeMessage, parseMessage, type Response } from '../../shared/protocol.js';
import { isVerbName } from '../../shared/verbs/catalog.js';
import { changesStore, requiredRole } from '../auth/roles.js';
import type { Context, Extension } from '../context.js';
import { NOT_OWNER, type NodeOwnership } from '../federation/node-ownership.js';
import { FORWARD_ALIVE_MS, Forwarder } from './forwarder.js';
import { ownerVerb, splitByOwner, type PartOutcome } from './owner-parts.js';
import type { RequestMeta, Verb } from './verb.js';

type Answer = Omit<Response, 'v' | 'id'>;

/** Forwarded parts remembered as taken: each comes once through each broker, within moments. */
const TAKEN_KEPT = 4096;

/** `node n1` or `nodes n[1-4]`: whom a part's failure is about. */
const nodesLabel = (nodes: readonly string[]) => (nodes.length === 1 ? `node ${nodes[0]}` : `nodes ${compressNodeRange(nodes)}`);

/**
 * Request/response over plain MQTT 3.1.1 topics: `muster/request/<verb>` with `{id, replyTo,
 * args}`, answered on `muster/response/<replyTo>` with `{id, ok, data | error, code}`. A verb's
 * arguments, result and role are its catalog entry's (shared/verbs/catalog.ts); the caller is
 * the user the broker authenticated, never a name in the arguments.
 *
 * Several controllers on shared brokers (`federation:` and `brokers:`) subscribe to the requests
 * as one shared subscription, so each request is answered by one of them; that one has the parts
 * of a verb on other controllers' nodes carried out by their owners (owner-parts.ts, forwarder.ts)
 * and answers with the parts merged.
 */
export class ApiServer implements Extension {
  readonly name = 'api';
  private readonly verbs = new Map<string, Verb>();
  private unsubscribe: (() => Promise<void>) | null = null;
  private ctx!: Context;
  /** With federation on shared brokers: sends parts to their owners. */
  private forwarder: Forwarder | null = null;
  /** `from/id` of the forwarded parts taken, oldest first: a part is carried out once however many brokers bring it. */
  private readonly taken = new Set<string>();

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
    const { ownership, topics } = ctx;
    // One embedded broker per controller reaches only that controller: nothing is shared, nothing forwarded.
    const shared = ownership !== null && ctx.config.brokers !== null;
    const stops = [await ctx.bus.subscribe(shared ? topics.sharedRequests : topics.allRequests, (topic, payload) => void this.handle(topic, payload))];
    if (shared) {
      this.forwarder = new Forwarder(ctx.bus, topics, ownership.controller, ctx.log);
      stops.push(await this.forwarder.start());
      stops.push(await ctx.bus.subscribe(topics.controllerRequest(ownership.controller), (_t, payload) => void this.serveForwarded(payload)));
    }
    this.unsubscribe = async () => {
      for (const stop of stops) await stop();
    };
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
    const reply = (r: Answer) =>
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
    await reply(await this.answer(v, args, { replyTo, user: who.name, role: who.role }, true));
  }

  /**
   * A part another controller forwarded (its nodes are this one's): carried out here, never
   * forwarded again, and answered to that controller, with word that it is working meanwhile.
   * Its user's role is at most what this controller grants the original client itself, so a
   * forward can do nothing its client could not ask for directly.
   */
  private async serveForwarded(payload: Buffer): Promise<void> {
    const { ctx } = this;
    const req = decodeMessage(ForwardedRequest, payload);
    if (!req.ok) {
      ctx.metrics.rejected.inc({ reason: 'schema' });
      return void ctx.log.warn({ reason: req.error }, 'forwarded request rejected');
    }
    const { id, from, verb: name, replyTo, user, role, args } = req.value;
    const key = `${from}/${id}`;
    if (this.taken.has(key)) return;
    this.taken.add(key);
    if (this.taken.size > TAKEN_KEPT) this.taken.delete(this.taken.values().next().value!);
    const send = (r: Answer | { accepted: true }) =>
      ctx.bus.publish(ctx.topics.controllerResponse(from), JSON.stringify({ v: PROTOCOL_VERSION, id, ...r }), { qos: 1 }).catch((err: Error) => ctx.log.error({ from, err: err.message }, 'forwarded request: answer publish failed'));
    const v = this.verbs.get(name);
    const client = ctx.auth.who(replyTo);
    if (!v || !client || client.kind !== 'user') {
      ctx.metrics.rejected.inc({ reason: 'role' });
      ctx.log.warn({ from, verb: name, replyTo }, 'forwarded request refused: unknown verb, or its client is not a user');
      return void send({ ok: false, error: `controller ${ctx.ownership?.controller} refused a forwarded ${name}: unknown verb, or its client is not a user here`, code: 'refused' });
    }
    void send({ accepted: true });
    const alive = setInterval(() => void send({ accepted: true }), FORWARD_ALIVE_MS);
    try {
      await send(await this.answer(v, args, { replyTo, user, role: roleAtLeast(role, client.role) ? client.role : role }, false));
    } finally {
      clearInterval(alive);
    }
  }

  /** Checks the caller's role and the arguments, then runs the verb (`spread`: parts on other controllers' nodes by their owners). */
  private async answer(v: Verb, args: Record<string, unknown>, meta: RequestMeta, spread: boolean): Promise<Answer> {
    const { ctx } = this;
    const refuse = (needed: Role): Answer => {
      ctx.metrics.rejected.inc({ reason: 'role' });
      ctx.metrics.requests.inc({ verb: v.name, outcome: 'error' });
      ctx.log.warn({ verb: v.name, user: meta.user, role: meta.role, needed }, 'request refused: role');
      return { ok: false, error: `${v.name}: needs the ${needed} role; ${meta.user} is ${meta.role}`, code: 'role' };
    };
    // The verb's least role first: its arguments are nobody's business below that.
    const least = requiredRole(v.name, null);
    if (!roleAtLeast(meta.role, least)) return refuse(least);
    const parsed = parseMessage(v.args, args);
    if (!parsed.ok) {
      ctx.metrics.requests.inc({ verb: v.name, outcome: 'error' });
      return { ok: false, error: `${v.name}: ${parsed.error}`, code: 'bad-arguments' };
    }
    const needed = requiredRole(v.name, parsed.value as Record<string, unknown>);
    if (!roleAtLeast(meta.role, needed)) return refuse(needed);
    const unwritable = ctx.store.error;
    if (unwritable && changesStore(v.name, needed)) {
      ctx.metrics.requests.inc({ verb: v.name, outcome: 'error' });
      return { ok: false, error: `${v.name}: store not writable: ${unwritable.message}; changes are refused until a write succeeds (it is retried)`, code: 'store-not-writable' };
    }
    try {
      const data = spread && this.forwarder && ctx.ownership ? await this.byOwners(v, parsed.value, meta, this.forwarder, ctx.ownership) : await v.handle(parsed.value, ctx, meta);
      ctx.metrics.requests.inc({ verb: v.name, outcome: 'ok' });
      return { ok: true, data };
    } catch (err) {
      ctx.metrics.requests.inc({ verb: v.name, outcome: 'error' });
      if (err instanceof MusterError) return { ok: false, error: err.message, code: err.code };
      const requestId = randomBytes(4).toString('hex');
      ctx.log.error({ verb: v.name, requestId, user: meta.user, err: (err as Error).stack ?? String(err) }, 'request failed');
      return { ok: false, error: `internal error (request ${requestId}); see the controller log`, code: 'internal' };
    }
  }

  /**
   * Runs `v` here for this controller's nodes and has each other owner carry out the part on its
   * own, then merges the parts. A request whose nodes are all this controller's runs as it is.
   */
  private async byOwners(v: Verb, args: unknown, meta: RequestMeta, forwarder: Forwarder, ownership: NodeOwnership): Promise<unknown> {
    const { ctx } = this;
    const how = isVerbName(v.name) ? ownerVerb(v.name) : undefined;
    const nodes = how?.nodes(args as never, (range) => ctx.nodes.resolve(range)) ?? null;
    if (!how || !nodes) return v.handle(args, ctx, meta);
    const { parts, unowned } = splitByOwner(nodes, (n) => ownership.ownerOf(n));
    const self = forwarder.self;
    if (unowned.length === 0 && parts.every((p) => p.owner === self)) return v.handle(args, ctx, meta);
    const partArgs = (list: readonly string[]) => (how.partArgs ? how.partArgs(args as never, list) : args) as Record<string, unknown>;
    const outcomes: PartOutcome[] = await Promise.all(
      parts.map(async (part): Promise<PartOutcome> => {
        if (part.owner !== self) return { part, ...(await forwarder.send(part.owner, v.name, partArgs(part.nodes), meta)) };
        try {
          return { part, ok: true, data: await v.handle(partArgs(part.nodes), ctx, meta) };
        } catch (err) {
          if (!(err instanceof MusterError)) throw err;
          return { part, ok: false, error: err.message, code: err.code };
        }
      }),
    );
    if (unowned.length) outcomes.push({ part: { owner: '', nodes: unowned }, ok: false, error: 'its partition has no owner right now (a controller is taking it over); try again in a few seconds', code: NOT_OWNER });
    if (outcomes.length > 1 && how.merge) return how.merge(args as never, nodes, outcomes);
    // One part (one owner, or a one-node verb): its answer is the answer.
    const o = outcomes[0]!;
    if (o.ok) return o.data;
    throw new MusterError(o.error.startsWith('node') ? o.error : `${nodesLabel(o.part.nodes)}: ${o.error}`, o.code);
  }
}
