import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { PROTOCOL_VERSION, Response, decodeMessage } from '../shared/protocol.js';
import { Topics } from '../shared/topics.js';
import type { VerbArgs, VerbName, VerbResult } from '../shared/verbs/catalog.js';

export interface ClientOptions {
  url: string;
  prefix?: string;
  username?: string;
  password?: string;
  /** PEM CA certificate(s) to trust for mqtts:// and wss:// (else the system's CAs). */
  ca?: Buffer;
  /** How long to wait for the controller's answer, to the connection as to each request. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** A verb's arguments (left out where all are optional) and how long to wait for its answer. */
export type RequestArgs<V extends VerbName> = {} extends VerbArgs<V> ? [args?: VerbArgs<V>, timeoutMs?: number] : [args: VerbArgs<V>, timeoutMs?: number];

/** The controller's refusal: its message, and its code (`role`, `bad-arguments`, `internal`, an error's own). */
export class RequestFailed extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Why a connection failed, in words that say what to do (CONNACK 4/5 are refused logins). */
function connectFailure(opts: ClientOptions, err: Error & { code?: unknown }): string {
  const who = opts.username ? `user ${opts.username}` : 'an anonymous client (give --user / MUSTER_USER and MUSTER_PASSWORD or MUSTER_PASSWORD_FILE)';
  if (err.code === 4) return `the controller at ${opts.url} refused ${who}: bad user name or password (MUSTER_PASSWORD or MUSTER_PASSWORD_FILE)`;
  if (err.code === 5) return `the controller at ${opts.url} refused ${who}: not authorised`;
  // mqtt.js's words when `connectTimeout` runs out before the broker's CONNACK.
  if (err.message === 'connack timeout') return `no answer from the controller at ${opts.url} within ${(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000} s (--timeout)`;
  return `cannot reach the controller at ${opts.url}: ${err.message}`;
}

/** The CLI's connection to the controller: requests with replies, and topic streams for `watch`. */
export class ControllerClient {
  readonly topics: Topics;
  private readonly pending = new Map<string, { resolve: (r: Response) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly streams: Array<(topic: string, payload: Buffer) => void> = [];

  private constructor(
    private readonly client: MqttClient,
    readonly clientId: string,
    private readonly opts: ClientOptions,
  ) {
    this.topics = new Topics(opts.prefix ?? 'muster');
    client.on('message', (topic, payload) => {
      if (topic === this.topics.response(clientId)) return this.onResponse(payload);
      for (const s of this.streams) s(topic, payload);
    });
  }

  static async connect(opts: ClientOptions): Promise<ControllerClient> {
    const clientId = `muster-cli-${randomBytes(6).toString('hex')}`;
    // Loaded here: the controller runs from the same bundle and never needs mqtt.js.
    const { default: mqtt } = await import('mqtt');
    const client = mqtt.connect(opts.url, {
      clientId,
      username: opts.username,
      password: opts.password,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(opts.ca ? { ca: opts.ca } : {}),
      rejectUnauthorized: true,
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', (err) => reject(new Error(connectFailure(opts, err as Error & { code?: unknown }))));
      client.once('close', () => reject(new Error(`cannot reach the controller at ${opts.url}: connection closed (is \`muster controller\` running? set --controller or MUSTER_CONTROLLER)`)));
    });
    const c = new ControllerClient(client, clientId, opts);
    await client.subscribeAsync(c.topics.response(clientId), { qos: 1 });
    return c;
  }

  /** Send a request and wait for its reply (typed by the verb catalog); a refusal becomes an Error with the controller's reason. */
  async request<V extends VerbName>(verb: V, ...[args = {} as VerbArgs<V>, timeoutMs = this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS]: RequestArgs<V>): Promise<VerbResult<V>> {
    const id = randomBytes(8).toString('hex');
    const response = await new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${verb}: no answer from the controller within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.client.publish(this.topics.request(verb), JSON.stringify({ v: PROTOCOL_VERSION, id, replyTo: this.clientId, args }), { qos: 1 });
    });
    if (!response.ok) throw new RequestFailed(response.error ?? `${verb} failed`, response.code);
    return response.data as VerbResult<V>;
  }

  /** Stream messages matching the filters (for `watch`, `console`). */
  async stream(filters: string[], onMessage: (topic: string, payload: Buffer) => void): Promise<void> {
    this.streams.push(onMessage);
    await this.client.subscribeAsync(filters, { qos: 0 });
  }

  publish(topic: string, payload: string | Buffer): void {
    this.client.publish(topic, payload, { qos: 0 });
  }

  async close(): Promise<void> {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    await this.client.endAsync();
  }

  private onResponse(payload: Buffer): void {
    const r = decodeMessage(Response, payload);
    if (!r.ok) return;
    const p = this.pending.get(r.value.id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(r.value.id);
    p.resolve(r.value);
  }
}
