/**
 * The controller's view of MQTT: subscribe to filters and publish, nothing else. Two
 * implementations: in-process on the embedded aedes broker (no socket hop), and one mqtt.js client
 * per external broker (`brokers:`, e.g. Mosquitto or an EMQX cluster; BrokerSetBus over MqttBus).
 */
export type MessageHandler = (topic: string, payload: Buffer) => void;
/** Told of a handler that threw; the message still reaches the other subscribers. */
export type HandlerFailure = (filter: string, err: unknown) => void;

export interface PublishOptions {
  retain?: boolean;
  qos?: 0 | 1;
}

/**
 * Filters to one handler that come and go by the thousand (federation: a few per agent of the
 * partitions the controller owns), subscribed and unsubscribed in batches: a few broker round trips
 * for thousands of filters, not one each.
 */
export interface FilterGroup {
  /** Subscribes the filters the group does not hold yet; resolves once the brokers acknowledged them. */
  add(filters: readonly string[]): Promise<void>;
  /** Unsubscribes the filters the group holds. */
  remove(filters: readonly string[]): Promise<void>;
}

export interface Bus {
  /** Delivers every message matching the MQTT filter until the returned function is called. */
  subscribe(filter: string, handler: MessageHandler): Promise<() => Promise<void>>;
  /** An empty group of filters delivering to `handler`; `name` stands for them in errors and metrics (a pattern, say). */
  filterGroup(name: string, handler: MessageHandler): FilterGroup;
  publish(topic: string, payload: string | Buffer, opts?: PublishOptions): Promise<void>;
  /**
   * Called with 'up' after a reconnect to a broker (not on the first connect; with several, any
   * broker's) and 'down' when no broker is left.
   */
  onConnectionChange(listener: (state: 'up' | 'down') => void): void;
  close(): Promise<void>;
}

/**
 * The handler as a bus delivers it: an exception is reported, never thrown into the broker's (or
 * mqtt.js') delivery, which would stop the message reaching the others.
 */
export function guarded(filter: string, handler: MessageHandler, onFailure: HandlerFailure): MessageHandler {
  return (topic, payload) => {
    try {
      handler(topic, payload);
    } catch (err) {
      onFailure(filter, err);
    }
  };
}

/** A filter group made of single subscriptions, for a bus with no batches of its own (the embedded broker's). */
export function filterGroupOf(subscribe: (filter: string) => Promise<() => Promise<void>>): FilterGroup {
  const held = new Map<string, Promise<() => Promise<void>>>();
  return {
    async add(filters) {
      const fresh = filters.filter((f) => !held.has(f));
      for (const f of fresh) held.set(f, subscribe(f));
      await Promise.all(fresh.map((f) => held.get(f)));
    },
    async remove(filters) {
      const gone = filters.filter((f) => held.has(f)).map((f) => [f, held.get(f)!] as const);
      for (const [f] of gone) held.delete(f);
      await Promise.all(gone.map(async ([, unsubscribe]) => (await unsubscribe)()));
    },
  };
}
