import type { MqttClient } from 'mqtt';
import { filterCovers } from '../../shared/topic-filter.js';
import { guarded, type Bus, type HandlerFailure, type MessageHandler, type PublishOptions } from './bus.js';

/** Bus on an external broker through one mqtt.js client. */
export class MqttBus implements Bus {
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  private readonly listeners: Array<(s: 'up' | 'down') => void> = [];
  private connectedOnce = false;

  private constructor(
    private readonly client: MqttClient,
    private readonly onFailure: HandlerFailure,
  ) {
    client.on('message', (topic, payload) => {
      for (const [filter, set] of this.handlers) if (filterCovers(filter, topic)) for (const h of set) h(topic, payload);
    });
    client.on('connect', () => {
      if (this.connectedOnce) for (const l of this.listeners) l('up');
      this.connectedOnce = true;
    });
    client.on('offline', () => {
      for (const l of this.listeners) l('down');
    });
  }

  static async connect(url: string, opts: { clientId: string; username?: string; password?: string; onFailure: HandlerFailure }): Promise<MqttBus> {
    // Loaded only for --broker: the embedded broker's controller never needs mqtt.js.
    const { default: mqtt } = await import('mqtt');
    const client = mqtt.connect(url, {
      clientId: opts.clientId,
      username: opts.username,
      password: opts.password,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // A persistent session keeps our subscriptions across reconnects.
      clean: true,
      resubscribe: true,
    });
    const bus = new MqttBus(client, opts.onFailure);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        clearTimeout(timer);
        client.end(true);
        reject(new Error(`cannot connect to broker ${url}: ${err.message}`));
      };
      const timer = setTimeout(() => onError(new Error('no CONNACK within 10 s')), 10_000);
      client.once('connect', () => {
        clearTimeout(timer);
        client.off('error', onError);
        resolve();
      });
      client.once('error', onError);
    });
    return bus;
  }

  async subscribe(filter: string, subscriber: MessageHandler): Promise<() => Promise<void>> {
    const handler = guarded(filter, subscriber, this.onFailure);
    let set = this.handlers.get(filter);
    if (!set) {
      set = new Set();
      this.handlers.set(filter, set);
      await this.client.subscribeAsync(filter, { qos: 1 });
    }
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0) {
        this.handlers.delete(filter);
        await this.client.unsubscribeAsync(filter);
      }
    };
  }

  async publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false });
  }

  onConnectionChange(listener: (state: 'up' | 'down') => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
