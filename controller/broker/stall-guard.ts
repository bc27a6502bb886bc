/**
 * Keeps a stall of the controller's own process (the embedded broker's) from dropping live agents:
 *  - aedes' keepalive close waits one event-loop turn (a `setImmediate`, after the poll phase):
 *    after a resume the timers phase runs before the sockets are read, so the PINGREQ and
 *    heartbeats that arrived during the stall get to refresh the timer first;
 *  - the will of a connection that ends in a stall's aftermath (an agent whose own keepalive gave
 *    up on the stopped broker) is held until its agent had time to reconnect, and dropped if it did.
 * A frozen agent sends nothing during the turn it is given, and a killed one does not reconnect.
 */
import type { Aedes, Client, PublishPacket } from 'aedes';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { STALL_SAMPLE_MS, STALL_WILL_HOLD_MS, StallWatch } from './stall-watch.js';

export interface StallGuard {
  /**
   * For authorizePublish, once the will is allowed: true when this is the will of a connection
   * that ended in a stall's aftermath and the guard took it (it calls `cb` when the hold ends).
   */
  holdWill(client: Client, packet: PublishPacket, cb: (err?: Error | null) => void): boolean;
  close(): void;
}

/** aedes' will and keepalive state on a client (lib/client.js; not in its type declarations). */
interface ClientFields {
  will: PublishPacket | null;
  _keepaliveTimer: NodeJS.Timeout | null;
  _keepaliveInterval: number;
}

export function guardAgainstStalls(log: Logger, isConnected: (clientId: string) => boolean, steady: () => number = () => performance.now()): StallGuard {
  const watch = new StallWatch(steady());
  const sampler = setInterval(() => {
    const late = watch.sample(steady());
    if (late > 0) log.warn({ lateMs: Math.round(late) }, 'broker: this process did not run; wills of connections that end now wait for their agents to reconnect');
  }, STALL_SAMPLE_MS).unref();
  const holds = new Set<NodeJS.Timeout>();
  // What became of the wills held since the last summary: logged once none is held any more.
  const outcome = { dropped: 0, sent: 0 };
  const settle = (clientId: string, cb: (err?: Error | null) => void) => {
    if (isConnected(clientId)) {
      outcome.dropped++;
      cb(new Error(`client ${clientId}: will dropped, reconnected after a broker stall`));
    } else {
      outcome.sent++;
      cb(null);
    }
    if (holds.size > 0) return;
    log.warn(outcome, 'broker: wills held after a stall: dropped those of agents that reconnected, sent the others');
    outcome.dropped = outcome.sent = 0;
  };

  return {
    holdWill(client, packet, cb) {
      if (packet !== (client as unknown as ClientFields).will || !watch.inStall(steady())) return false;
      const hold = setTimeout(() => {
        holds.delete(hold);
        settle(client.id, cb);
      }, STALL_WILL_HOLD_MS);
      holds.add(hold);
      return true;
    },
    close() {
      clearInterval(sampler);
      for (const hold of holds) clearTimeout(hold);
      holds.clear();
    },
  };
}

/**
 * Replaces aedes' keepalive timer of a connected client with one that closes a turn later, unless
 * a packet read meanwhile refreshed it (aedes refreshes `_keepaliveTimer` on every packet).
 */
export function deferKeepaliveClose(aedes: Aedes, client: Client): void {
  const fields = client as unknown as ClientFields;
  if (!fields._keepaliveTimer || fields._keepaliveInterval <= 0) return;
  clearTimeout(fields._keepaliveTimer);
  let heard = false;
  const timer = setTimeout(() => {
    heard = false;
    setImmediate(() => {
      if (heard || client.closed) return;
      // What aedes' own timer does (lib/handlers/connect.js).
      aedes.emit('keepaliveTimeout', client);
      client.emit('error', new Error('keep alive timeout'));
    });
  }, fields._keepaliveInterval);
  const refresh = timer.refresh.bind(timer);
  timer.refresh = () => {
    heard = true;
    return refresh();
  };
  fields._keepaliveTimer = timer;
}
