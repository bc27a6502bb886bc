import type { MqttClient } from 'mqtt';
import { filterCovers, subscriptionFilter } from '../../shared/topic-filter.js';
import { guarded, type Bus, type HandlerFailure, type MessageHandler, type PublishOptions } from './bus.js';

const CONNECT_TIMEOUT_MS = 10_000;

/** A broker URL fit for logs, errors and metrics: `mqtt://user:secret@h` → `mqtt://***@h`. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export interface MqttBusOptions {
  clientId: string;
  username?: string;
  password?: string;
  onFailure: HandlerFailure;
  /** Told of connection errors after the first connect (mqtt.js keeps reconnecting every second). */
  onError?: (err: Error) => void;
}

/** Bus on an external broker through one mqtt.js client. */
export class MqttBus implements Bus {
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  private readonly listeners: Array<(s: 'up' | 'down') => void> = [];
  /** Whether a connect is news to the listeners: every one after `started()`. */
  private reportConnects = false;

  /** The broker's URL without credentials. */
  readonly name: string;

  private constructor(
    private readonly client: MqttClient,
    url: string,
    private readonly opts: MqttBusOptions,
  ) {
    this.name = redactedUrl(url);
    client.on('message', (topic, payload) => {
      for (const [filter, set] of this.handlers) if (filterCovers(subscriptionFilter(filter), topic)) for (const h of set) h(topic, payload);
    });
    client.on('connect', () => {
      if (this.reportConnects) for (const l of this.listeners) l('up');
    });
    client.on('offline', () => {
      for (const l of this.listeners) l('down');
    });
    client.on('error', (err) => this.opts.onError?.(err));
  }

  /**
   * A bus whose client connects in the background and reconnects every second for good.
   * Subscriptions made while it is not connected are made at the next connect.
   */
  static async open(url: string, opts: MqttBusOptions): Promise<MqttBus> {
    // Loaded only for external brokers: the embedded broker's controller never needs mqtt.js.
    const { default: mqtt } = await import('mqtt');
    const client = mqtt.connect(url, {
      clientId: opts.clientId,
      username: opts.username,
      password: opts.password,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // A clean session: mqtt.js subscribes again after each reconnect.
      clean: true,
      resubscribe: true,
    });
    return new MqttBus(client, url, opts);
  }

  /** Whether the client is connected to the broker now. */
  get connected(): boolean {
    return this.client.connected;
  }

  /** Resolves at the first CONNACK; rejects at the first connection error or after 10 s (the client keeps trying). */
  firstConnect(): Promise<void> {
    const { client, name } = this;
    return new Promise<void>((resolve, reject) => {
      const settle = (err: Error | null) => {
        clearTimeout(timer);
        client.off('connect', onConnect);
        client.off('error', onError);
        if (err) reject(new Error(`cannot connect to broker ${name}: ${err.message}`));
        else resolve();
      };
      const onConnect = () => settle(null);
      const onError = (err: Error) => settle(err);
      const timer = setTimeout(() => settle(new Error(`no CONNACK within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
      if (client.connected) return settle(null);
      client.once('connect', onConnect);
      client.once('error', onError);
    });
  }

  /** The bus is in use: from now on every connect is reported as 'up' (the broker may have lost what was published). */
  started(): void {
    this.reportConnects = true;
  }

  async subscribe(filter: string, subscriber: MessageHandler): Promise<() => Promise<void>> {
    const handler = guarded(filter, subscriber, this.opts.onFailure);
    let set = this.handlers.get(filter);
    if (!set) {
      set = new Set();
      this.handlers.set(filter, set);
      // Offline: mqtt.js keeps the filter and subscribes at the next connect.
      if (this.client.connected) await this.client.subscribeAsync(filter, { qos: 1 });
      else this.client.subscribe(filter, { qos: 1 }, () => {});
    }
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0) {
        this.handlers.delete(filter);
        if (this.client.connected) await this.client.unsubscribeAsync(filter);
        else this.client.unsubscribe(filter, () => {});
      }
    };
  }

  async publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false });
  }

  onConnectionChange(listener: (state: 'up' | 'down') => void): void {
    this.listeners.push(listener);
  }

  /** Disconnects cleanly; a broker that is down is given up at once (a clean end would wait for it). */
  async close(): Promise<void> {
    await this.client.endAsync(!this.client.connected);
  }
}
