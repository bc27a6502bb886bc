/// <reference lib="dom" />
/**
 * The page's one MQTT-over-WebSocket connection to the controller: retained node states, events
 * and console output by subscription, and the CLI's request/response verbs
 * (`muster/request/<verb>` → `muster/response/<clientId>`). A login swaps the connection for one
 * with other credentials; subscriptions carry over.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { filterCovers } from '../../../shared/topic-filter.js';
import type { VerbArgs, VerbName, VerbResult } from '../../../shared/verbs/catalog.js';

export interface Credentials {
  username: string;
  password: string;
}

/** What `/dashboard/config.json` tells the page (see route.ts). */
export interface DashboardConfig {
  v: 1;
  prefix: string;
  /** The broker's WebSocket port on the host that served the page, or null with the reason. */
  wsPort: number | null;
  /** An external broker's WebSocket URL (config `dashboard.brokerWs`), used instead of `wsPort`. */
  wsUrl: string | null;
  wsProblem: string | null;
  /** The page's read-only MQTT credentials (config `dashboard.viewer`); null: anonymous. */
  credentials: Credentials | null;
}

export type LinkStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';
type Listener = (topic: string, payload: Uint8Array) => void;

/** The controller refused a request; `unknownVerb` when it does not have the verb at all. */
export class RequestError extends Error {
  constructor(
    readonly verb: string,
    message: string,
  ) {
    super(message);
  }
  get unknownVerb(): boolean {
    return this.message.startsWith('unknown request');
  }
}

/** One MQTT connection with its own client id (so a new one never takes over the old one's session). */
interface Connection {
  client: MqttClient;
  clientId: string;
  /** Requests wait for the SUBACK of the response topic, so no answer can arrive before it. */
  responses: Promise<void>;
}

const LOGIN_TIMEOUT_MS = 10_000;

export class Link {
  private conn: Connection;
  private readonly listeners = new Set<{ filter: string; fn: Listener }>();
  private readonly pending = new Map<string, { verb: string; resolve: (data: unknown) => void; reject: (e: Error) => void; timer: number }>();

  constructor(
    private readonly config: DashboardConfig,
    private readonly url: string,
    private readonly onStatus: (s: LinkStatus, detail?: string) => void,
  ) {
    onStatus('connecting');
    this.conn = this.adopt(this.open(config.credentials));
  }

  get clientId(): string {
    return this.conn.clientId;
  }

  topic(...levels: string[]): string {
    return [this.config.prefix, ...levels].join('/');
  }

  /**
   * Connects with other credentials (null: the page's own from config.json) and, once the broker
   * accepts them, drops the old connection. Refused credentials reject with the broker's reason
   * and leave the old connection as it was. Credentials live only in this connection's options.
   */
  async switchCredentials(credentials: Credentials | null): Promise<void> {
    const next = this.open(credentials ?? this.config.credentials);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        window.clearTimeout(timer);
        if (!err) return resolve();
        next.client.end(true);
        reject(err);
      };
      const timer = window.setTimeout(() => settle(new Error(`no answer from the broker within ${LOGIN_TIMEOUT_MS / 1000} s`)), LOGIN_TIMEOUT_MS);
      next.client.on('error', settle);
      next.client.once('connect', () => settle());
    });
    const old = this.conn;
    this.conn = this.adopt(next);
    old.client.end(true);
    for (const [id, p] of this.pending) {
      window.clearTimeout(p.timer);
      p.reject(new RequestError(p.verb, `${p.verb}: the connection changed before the controller answered; try again`));
      this.pending.delete(id);
    }
    this.onStatus('live');
    for (const filter of new Set([...this.listeners].map((l) => l.filter))) void next.client.subscribeAsync(filter, { qos: 0 });
  }

  /** Listen to a filter; returns the way to stop. Subscriptions survive reconnects (clean session, resubscribe). */
  listen(filter: string, fn: Listener): () => void {
    const entry = { filter, fn };
    const first = ![...this.listeners].some((l) => l.filter === filter);
    this.listeners.add(entry);
    if (first) void this.conn.client.subscribeAsync(filter, { qos: 0 });
    return () => {
      this.listeners.delete(entry);
      if (![...this.listeners].some((l) => l.filter === filter)) void this.conn.client.unsubscribeAsync(filter);
    };
  }

  /** A request typed by the verb catalog (types only: the page bundle holds none of it). */
  async request<V extends VerbName>(verb: V, args: VerbArgs<V>, timeoutMs = 15_000): Promise<VerbResult<V>> {
    const { client, clientId, responses } = this.conn;
    await responses;
    const id = randomHex(8);
    return new Promise<VerbResult<V>>((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError(verb, `${verb}: no answer from the controller within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, { verb, resolve: resolve as (d: unknown) => void, reject, timer });
      client.publish(this.topic('request', verb), JSON.stringify({ v: 1, id, replyTo: clientId, args }), { qos: 1 });
    });
  }

  private open(credentials: Credentials | null): Connection {
    const clientId = `muster-web-${randomHex(6)}`;
    const client = mqtt.connect(this.url, {
      clientId,
      protocolVersion: 4,
      username: credentials?.username,
      password: credentials?.password,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
    });
    const responses = client.subscribeAsync(this.topic('response', clientId), { qos: 1 }).then(() => undefined);
    responses.catch(() => {}); // a refused connection: its requests are never sent
    return { client, clientId, responses };
  }

  /** Makes `conn` the one whose events count; a replaced connection's late events are ignored. */
  private adopt(conn: Connection): Connection {
    const { client, clientId } = conn;
    const current = () => this.conn === conn;
    client.on('connect', () => current() && this.onStatus('live'));
    client.on('reconnect', () => current() && this.onStatus('reconnecting'));
    client.on('offline', () => current() && this.onStatus('offline'));
    // A refused CONNACK (bad credentials) stops reconnecting: say why.
    client.on('error', (err) => current() && this.onStatus('offline', err.message));
    client.on('message', (topic, payload) => {
      if (!current()) return;
      if (topic === this.topic('response', clientId)) this.answer(payload);
      else this.dispatch(topic, payload);
    });
    return conn;
  }

  private dispatch(topic: string, payload: Uint8Array): void {
    for (const l of this.listeners) if (filterCovers(l.filter, topic)) l.fn(topic, payload);
  }

  private answer(payload: Uint8Array): void {
    let r: { id?: string; ok?: boolean; data?: unknown; error?: string };
    try {
      r = JSON.parse(new TextDecoder().decode(payload)) as typeof r;
    } catch {
      return;
    }
    const p = r.id ? this.pending.get(r.id) : undefined;
    if (!p || !r.id) return;
    this.pending.delete(r.id);
    window.clearTimeout(p.timer);
    if (r.ok) p.resolve(r.data);
    else p.reject(new RequestError(p.verb, r.error ?? `${p.verb} failed`));
  }
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
