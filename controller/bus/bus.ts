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

export interface Bus {
  /** Delivers every message matching the MQTT filter until the returned function is called. */
  subscribe(filter: string, handler: MessageHandler): Promise<() => Promise<void>>;
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

