// The bench's eyes on the wire: an MQTT client that watches events, retained node states and
// probe echoes, and times request/response round trips (the outside view of the event loop).
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { children } from './targets.mjs';

export class Observer {
  static async connect(url, filters) {
    const o = new Observer();
    o.clientId = `bench-observer-${randomBytes(4).toString('hex')}`;
    o.client = await mqtt.connectAsync(url, { clientId: o.clientId, protocolVersion: 4, reconnectPeriod: 0 });
    o.client.setMaxListeners(0);
    o.client.on('message', (topic, payload) => {
      const at = Date.now();
      for (const h of o.handlers) h(topic, payload, at);
    });
    if (filters.length) await o.client.subscribeAsync(filters, { qos: 1 });
    await o.client.subscribeAsync(`muster/response/${o.clientId}`, { qos: 1 });
    return o;
  }

  handlers = [];

  on(handler) {
    this.handlers.push(handler);
    return () => (this.handlers = this.handlers.filter((h) => h !== handler));
  }

  /** One request/response round trip to the controller, in ms (rejects after timeoutMs). */
  request(verb, args = {}, timeoutMs = 30_000) {
    const id = randomBytes(8).toString('hex');
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (off(), reject(new Error(`request ${verb}: no response in ${timeoutMs} ms`))), timeoutMs);
      const off = this.on((topic, payload) => {
        if (topic !== `muster/response/${this.clientId}`) return;
        const r = JSON.parse(payload.toString());
        if (r.id !== id) return;
        clearTimeout(timer);
        off();
        if (!r.ok) reject(new Error(`request ${verb}: ${r.error}`));
        else resolve({ ms: performance.now() - t0, data: r.data });
      });
      this.client.publish(`muster/request/${verb}`, JSON.stringify({ v: 1, id, replyTo: this.clientId, args }), { qos: 1 });
    });
  }

  /**
   * Pings the controller every `everyMs` with a cheap request until stopped; the round trips tell
   * how long the event loop was busy (an outside measure: it includes the broker path).
   */
  startPinger(verb = 'naming', everyMs = 100) {
    const rtts = [];
    let stopped = false;
    const loop = async () => {
      while (!stopped) {
        const t = performance.now();
        try {
          rtts.push((await this.request(verb, {}, 30_000)).ms);
        } catch {
          rtts.push(30_000);
        }
        const left = everyMs - (performance.now() - t);
        if (left > 0) await new Promise((r) => setTimeout(r, left));
      }
    };
    const done = loop();
    return async () => {
      stopped = true;
      await done;
      return rtts;
    };
  }

  async close() {
    await this.client.endAsync(true);
  }
}

/**
 * `Observer.startPinger` in a process of its own (bench/lib/pinger.mjs), once connected.
 * `stop()` resolves to `{ rtts, loopDelayMaxMs }` (the pinger's own event-loop delay).
 */
export async function forkPinger(url, verb = 'naming', everyMs = 100) {
  const child = fork(join(import.meta.dirname, 'pinger.mjs'), [url, verb, String(everyMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const reply = () =>
    new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code, sig) => reject(new Error(`pinger exited (${sig ?? code})`)));
    });
  await reply();
  return {
    stop() {
      const result = reply();
      child.send('stop');
      return result;
    },
  };
}

/** Prometheus text → value of one series (first match of name and label text). */
export async function scrapeMetric(adminUrl, name, labels = '') {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const [series, value] = line.split(' ');
    if (series === name || (labels && series === `${name}{${labels}}`)) return Number(value);
  }
  return NaN;
}
