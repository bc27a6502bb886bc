/// <reference lib="dom" />
/**
 * The page's one MQTT-over-WebSocket connection to the controller: retained node states, events
 * and console output by subscription, and the CLI's request/response verbs
 * (`muster/request/<verb>` → `muster/response/<clientId>`).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { topicMatches } from './topic-match.js';

/** What `/dashboard/config.json` tells the page (see route.ts). */
export interface DashboardConfig {
  v: 1;
  prefix: string;
  /** The broker's WebSocket port on the host that served the page, or null with the reason. */
  wsPort: number | null;
  wsProblem: string | null;
  /** MQTT credentials for the page (read-only ones once auth exists); null: anonymous. */
  credentials: { username: string; password: string } | null;
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

export class Link {
  readonly clientId = `muster-web-${randomHex(6)}`;
  private readonly client: MqttClient;
  private readonly listeners = new Set<{ filter: string; fn: Listener }>();
  private readonly responses: Promise<void>;
  private readonly pending = new Map<string, { verb: string; resolve: (data: unknown) => void; reject: (e: Error) => void; timer: number }>();

  constructor(
    private readonly config: DashboardConfig,
    url: string,
    onStatus: (s: LinkStatus) => void,
  ) {
    this.client = mqtt.connect(url, {
      clientId: this.clientId,
      protocolVersion: 4,
      username: config.credentials?.username,
      password: config.credentials?.password,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
    });
    onStatus('connecting');
    this.client.on('connect', () => onStatus('live'));
    this.client.on('reconnect', () => onStatus('reconnecting'));
    this.client.on('offline', () => onStatus('offline'));
    this.client.on('message', (topic, payload) => this.dispatch(topic, payload));
    // Requests wait for the SUBACK of the response topic, so no answer can arrive before it.
    this.responses = this.client.subscribeAsync(this.topic('response', this.clientId), { qos: 1 }).then(() => undefined);
  }

  topic(...levels: string[]): string {
    return [this.config.prefix, ...levels].join('/');
  }

  /** Listen to a filter; returns the way to stop. Subscriptions survive reconnects (clean session, resubscribe). */
  listen(filter: string, fn: Listener): () => void {
    const entry = { filter, fn };
    const first = ![...this.listeners].some((l) => l.filter === filter);
    this.listeners.add(entry);
    if (first) void this.client.subscribeAsync(filter, { qos: 0 });
    return () => {
      this.listeners.delete(entry);
      if (![...this.listeners].some((l) => l.filter === filter)) void this.client.unsubscribeAsync(filter);
    };
  }

  async request<T>(verb: string, args: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<T> {
    await this.responses;
    const id = randomHex(8);
    return new Promise<T>((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError(verb, `${verb}: no answer from the controller within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, { verb, resolve: resolve as (d: unknown) => void, reject, timer });
      this.client.publish(this.topic('request', verb), JSON.stringify({ v: 1, id, replyTo: this.clientId, args }), { qos: 1 });
    });
  }

  private dispatch(topic: string, payload: Uint8Array): void {
    if (topic === this.topic('response', this.clientId)) return this.answer(payload);
    for (const l of this.listeners) if (topicMatches(l.filter, topic)) l.fn(topic, payload);
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
