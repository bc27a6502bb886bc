import type { MqttClient } from 'mqtt';
import { filterCovers, subscriptionFilter } from '../../shared/topic-filter.js';
import { guarded, type Bus, type FilterGroup, type HandlerFailure, type MessageHandler, type PublishOptions } from './bus.js';

const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Filters per SUBSCRIBE or UNSUBSCRIBE packet (~50 KB of agent filters): the packets of a large
 * batch are sent back to back, not each after the last one's answer.
 */
const FILTERS_PER_PACKET = 1000;

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
  /** Every filter held, with its handlers. */
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  /**
   * The filters a message is matched against one by one: the others (a plain topic, or plain levels
   * and a last `+`, the form of the per-agent filters) are looked up by the topic, so thousands of
   * agent filters cost a message two map lookups.
   */
  private readonly scanned = new Set<string>();
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
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
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

  async subscribe(filter: string, handler: MessageHandler): Promise<() => Promise<void>> {
    const group = this.filterGroup(filter, handler);
    await group.add([filter]);
    return () => group.remove([filter]);
  }

  filterGroup(name: string, subscriber: MessageHandler): FilterGroup {
    const handler = guarded(name, subscriber, this.opts.onFailure);
    const held = new Set<string>();
    return {
      add: async (filters) => {
        const fresh: string[] = [];
        for (const filter of filters) {
          if (held.has(filter)) continue;
          held.add(filter);
          let set = this.handlers.get(filter);
          if (!set) {
            this.handlers.set(filter, (set = new Set()));
            if (!isLookedUp(filter)) this.scanned.add(filter);
            fresh.push(filter);
          }
          set.add(handler);
        }
        await this.inPackets(fresh, (batch) => this.client.subscribeAsync(batch, { qos: 1 }), (batch) => this.client.subscribe(batch, { qos: 1 }, () => {}));
      },
      remove: async (filters) => {
        const emptied: string[] = [];
        for (const filter of filters) {
          if (!held.delete(filter)) continue;
          const set = this.handlers.get(filter)!;
          set.delete(handler);
          if (set.size > 0) continue;
          this.handlers.delete(filter);
          this.scanned.delete(filter);
          emptied.push(filter);
        }
        await this.inPackets(emptied, (batch) => this.client.unsubscribeAsync(batch), (batch) => this.client.unsubscribe(batch, () => {}));
      },
    };
  }

  /**
   * Sends `filters` in packets of FILTERS_PER_PACKET: `online` resolves at the broker's answer;
   * while offline mqtt.js keeps (or forgets) them for the next connect, so nothing is waited for.
   */
  private async inPackets(filters: string[], online: (batch: string[]) => Promise<unknown>, offline: (batch: string[]) => void): Promise<void> {
    const batches: string[][] = [];
    for (let i = 0; i < filters.length; i += FILTERS_PER_PACKET) batches.push(filters.slice(i, i + FILTERS_PER_PACKET));
    if (this.client.connected) await Promise.all(batches.map(online));
    else for (const batch of batches) offline(batch);
  }

  private dispatch(topic: string, payload: Buffer): void {
    const deliver = (set: Set<MessageHandler> | undefined) => {
      if (set) for (const h of set) h(topic, payload);
    };
    deliver(this.handlers.get(topic));
    const cut = topic.lastIndexOf('/');
    if (cut >= 0) deliver(this.handlers.get(`${topic.slice(0, cut)}/+`));
    for (const filter of this.scanned) if (filterCovers(subscriptionFilter(filter), topic)) deliver(this.handlers.get(filter));
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

/**
 * Whether `filter` is found by a lookup of the topic (dispatch): no wildcard, or only a last `+`.
 * A shared subscription is scanned: its messages come with their own topics, not the `$share/` one.
 */
function isLookedUp(filter: string): boolean {
  if (filter.startsWith('$share/')) return false;
  const cut = filter.endsWith('/+') ? filter.length - 2 : filter.length;
  return !/[+#]/.test(filter.slice(0, cut));
}
