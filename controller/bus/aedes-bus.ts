import type { Aedes, AedesPublishPacket } from 'aedes';
import type { Bus, MessageHandler, PublishOptions } from './bus.js';

/** Bus on the embedded broker: the controller subscribes and publishes inside the broker process. */
export class AedesBus implements Bus {
  constructor(private readonly broker: Aedes) {}

  subscribe(filter: string, handler: MessageHandler): Promise<() => Promise<void>> {
    const deliver = (packet: AedesPublishPacket, cb: () => void) => {
      // aedes delivers its own $SYS heartbeats to `#`-style filters; ours never start with $.
      if (!packet.topic.startsWith('$')) handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
      // Not synchronously: aedes drains its queue of held-back deliveries through this callback,
      // and a synchronous call recurses once per queued message (a stack overflow under load).
      process.nextTick(cb);
    };
    return new Promise((resolve) => {
      this.broker.subscribe(filter, deliver, () =>
        resolve(() => new Promise<void>((done) => this.broker.unsubscribe(filter, deliver, () => done()))),
      );
    });
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      this.broker.publish(
        { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: opts.qos ?? 0, retain: opts.retain ?? false, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  onConnectionChange(): void {
    // In-process: the controller cannot lose its own broker.
  }

  async close(): Promise<void> {}
}
