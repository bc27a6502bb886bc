/**
 * The lab's view of the controller, from the wire as any MQTT client sees it: retained node
 * states and every event, with a way to wait until something holds.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Event, NodeState } from '../../shared/protocol.js';

export class LabWatch {
  readonly states = new Map<string, NodeState>();
  readonly events: Event[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly client: MqttClient, private readonly onEvent: (e: Event) => void) {}

  static async connect(url: string, onEvent: (e: Event) => void = () => {}): Promise<LabWatch> {
    const client = await mqtt.connectAsync(url, { clientId: `lab-watch-${process.pid}`, reconnectPeriod: 500 });
    const watch = new LabWatch(client, onEvent);
    client.on('message', (topic, payload) => watch.received(topic, payload));
    await client.subscribeAsync(['muster/nodes/+/state', 'muster/events/#']);
    return watch;
  }

  private received(topic: string, payload: Buffer): void {
    let msg: unknown;
    try {
      msg = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (topic.startsWith('muster/nodes/')) {
      const s = msg as NodeState;
      this.states.set(s.node, s);
    } else {
      this.events.push(msg as Event);
      this.onEvent(msg as Event);
    }
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with `check`'s first truthy answer, re-checked on every message; rejects after `timeoutMs`. */
  until<T>(what: string, timeoutMs: number, check: () => T | null | undefined | false): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(poll);
      };
      const poll = () => {
        let r: T | null | undefined | false;
        try {
          r = check();
        } catch (err) {
          done();
          return reject(err as Error);
        }
        if (r) {
          done();
          resolve(r);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`lab: timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(poll);
      poll();
    });
  }

  /** A node's state once it is in `phase` (and, when given, in a boot other than `notBootId`). */
  inPhase(node: string, phase: string, timeoutMs: number, notBootId: string | null = null): Promise<NodeState> {
    return this.until(`${node} in phase ${phase}${notBootId ? ' after a new boot' : ''}`, timeoutMs, () => {
      const s = this.states.get(node);
      return s && s.phase === phase && s.bootId !== null && s.bootId !== notBootId ? s : null;
    });
  }

  eventsOf(node: string, kind?: string): Event[] {
    return this.events.filter((e) => e.node === node && (kind === undefined || e.kind === kind));
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
