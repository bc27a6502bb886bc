/**
 * Parts of requests sent to the controllers owning their nodes, over the shared brokers
 * (`<prefix>/controllers/<owner>/request`), and their answers (`…/<this>/response`). The owner says
 * it has a part at once and again every FORWARD_ALIVE_MS until it answers; a part whose owner
 * stays silent for FORWARD_SILENCE_MS (a controller dead, cut off, or stopped) fails naming it,
 * so a long power cycle is waited for while a dead owner costs a few seconds, not a hang.
 */
import { randomBytes } from 'node:crypto';
import { ForwardAnswer, PROTOCOL_VERSION, decodeMessage, type ForwardedRequest } from '../../shared/protocol.js';
import type { Topics } from '../../shared/topics.js';
import type { Bus } from '../bus/bus.js';
import type { Logger } from '../log.js';
import type { RequestMeta } from './verb.js';

/** How often an owner working on a part says so. */
export const FORWARD_ALIVE_MS = 1500;
/** How long a part's owner may be silent before the part fails. */
export const FORWARD_SILENCE_MS = 5000;
/** Code of a part whose owner did not answer. */
export const OWNER_SILENT = 'owner-silent';

export type ForwardResult = { ok: true; data: unknown } | { ok: false; error: string; code: string };

interface Pending {
  owner: string;
  settle(r: ForwardResult): void;
  /** Restarts the silence timer: the owner said it is working. */
  alive(): void;
}

export class Forwarder {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly bus: Bus,
    private readonly topics: Topics,
    /** This controller's id: where answers come. */
    readonly self: string,
    private readonly log: Logger,
  ) {}

  /** Listens for answers; returns the way to stop, which fails the parts still waiting. */
  async start(): Promise<() => Promise<void>> {
    const stop = await this.bus.subscribe(this.topics.controllerResponse(this.self), (_t, payload) => this.onAnswer(payload));
    return async () => {
      await stop();
      for (const p of [...this.pending.values()]) p.settle({ ok: false, error: `controller ${this.self} stopped before controller ${p.owner} answered`, code: OWNER_SILENT });
    };
  }

  /** Has `owner` carry out `verb` with `args` for the client of `meta`; resolves with its answer or why there is none. */
  send(owner: string, verb: string, args: Record<string, unknown>, meta: RequestMeta): Promise<ForwardResult> {
    const id = randomBytes(8).toString('hex');
    return new Promise<ForwardResult>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (r: ForwardResult) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(r);
      };
      const alive = () => {
        clearTimeout(timer);
        timer = setTimeout(() => settle({ ok: false, error: `controller ${owner}, its owner, did not answer within ${FORWARD_SILENCE_MS / 1000} s`, code: OWNER_SILENT }), FORWARD_SILENCE_MS);
      };
      this.pending.set(id, { owner, settle, alive });
      alive();
      const msg: ForwardedRequest = { v: PROTOCOL_VERSION, id, from: this.self, verb, replyTo: meta.replyTo, user: meta.user, role: meta.role, args };
      this.bus.publish(this.topics.controllerRequest(owner), JSON.stringify(msg), { qos: 1 }).catch((err: Error) => settle({ ok: false, error: `forwarding to controller ${owner} failed: ${err.message}`, code: OWNER_SILENT }));
    });
  }

  private onAnswer(payload: Buffer): void {
    const r = decodeMessage(ForwardAnswer, payload);
    if (!r.ok) return void this.log.warn({ reason: r.error }, 'forwarded request: answer refused');
    const p = this.pending.get(r.value.id);
    if (!p) return;
    const a = r.value;
    if ('accepted' in a) return p.alive();
    p.settle(a.ok ? { ok: true, data: a.data } : { ok: false, error: a.error ?? 'failed', code: a.code ?? 'refused' });
  }
}
