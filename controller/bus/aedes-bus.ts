import type { Aedes, AedesPublishPacket } from 'aedes';
import { filterGroupOf, guarded, type Bus, type FilterGroup, type HandlerFailure, type MessageHandler, type PublishOptions } from './bus.js';

/** Bus on the embedded broker: the controller subscribes and publishes inside the broker process. */
export class AedesBus implements Bus {
  constructor(
    private readonly broker: Aedes,
    private readonly onFailure: HandlerFailure,
  ) {}

  subscribe(filter: string, subscriber: MessageHandler): Promise<() => Promise<void>> {
    const handler = guarded(filter, subscriber, this.onFailure);
    let inCallback = false;
    const deliver = (packet: AedesPublishPacket, cb: () => void) => {
      // aedes delivers its own $SYS heartbeats to `#`-style filters; ours never start with $.
      if (!packet.topic.startsWith('$')) handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
      // aedes starts its next held-back delivery from inside this callback, so calling back at once
      // every time would nest once per queued message (a stack overflow under load). A delivery
      // made from inside our own callback defers its callback instead; the usual one, called back at
      // once, costs no tick (2,000 heartbeats a second).
      if (inCallback) return process.nextTick(cb);
      inCallback = true;
      try {
        cb();
      } finally {
        inCallback = false;
      }
    };
    return new Promise((resolve) => {
      this.broker.subscribe(filter, deliver, () =>
        resolve(() => new Promise<void>((done) => this.broker.unsubscribe(filter, deliver, () => done()))),
      );
    });
  }

  /** In-process, a subscription costs no round trip: one each. */
  filterGroup(_name: string, handler: MessageHandler): FilterGroup {
    return filterGroupOf((filter) => this.subscribe(filter, handler));
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      this.broker.publish(
        { cmd: 'publish', topic, payload: opts.retain ? ownBuffer(payload) : typeof payload === 'string' ? Buffer.from(payload) : payload, qos: opts.qos ?? 0, retain: opts.retain ?? false, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  onConnectionChange(): void {
    // In-process: the controller cannot lose its own broker.
  }

  async close(): Promise<void> {}
}

/**
 * A retained payload in memory of its own. aedes keeps retained messages for good, and a small
 * Buffer.from() is a slice of a shared 8 KiB pool slab that it would keep alive whole: at 10k
 * nodes' retained states, ~23 MB of slabs held for ~4 MB of payloads (heap snapshot).
 */
function ownBuffer(payload: string | Buffer): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const own = Buffer.allocUnsafeSlow(bytes);
  if (typeof payload === 'string') own.write(payload);
  else payload.copy(own);
  return own;
}
