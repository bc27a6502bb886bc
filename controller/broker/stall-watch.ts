/**
 * Whether this process just did not run (SIGSTOP, a VM paused, a blocked event loop), from a
 * sampling timer's lateness. Pure: the broker feeds it times (steady milliseconds), so its rules
 * are tested with a fake clock.
 *
 * The embedded broker lives in the controller's process, so a controller stall is a broker stall:
 * agents' keepalives get no PINGRESP and give up on the connection (after 1.5 × keepalive without
 * a packet from the broker: mqtt.js), and after the stall the broker reads those closed sockets
 * and sends the wills of agents that are alive and reconnecting.
 */

/** How often the broker samples the loop. */
export const STALL_SAMPLE_MS = 500;
/**
 * The lateness that counts as a stall: the shortest that can cut an agent off. An agent gives up
 * 0.5 × keepalive after its unanswered PINGREQ (mqtt.js), and its keepalive is never under 5 s
 * (agent/keepalive.ts); a shorter busy moment delays no will.
 */
export const STALL_MIN_MS = 2500;
/**
 * How long after a stall a connection's end is blamed on it: the broker reads the sockets the
 * agents closed during the stall, and answers, or reads the end of, the connect attempts they made
 * meanwhile (a backlog of thousands of connections and buffered packets) while the agents whose
 * attempt timed out try again after their backoff. 30 s: the hold's length, and the controller's
 * default grace period after a stall, in which it takes no automatic action anyway.
 */
export const STALL_AFTERMATH_MS = 30_000;
/**
 * How long the will of a connection that ended in a stall's aftermath waits for its agent to
 * connect again before it is sent: the agent's reconnect backoff tops out at 22.5 s plus a third
 * of jitter (agent/link.ts), after connect attempts that timed out against the stopped broker.
 */
export const STALL_WILL_HOLD_MS = 30_000;

export class StallWatch {
  private lastSample: number;
  private aftermathUntil = -Infinity;

  constructor(now: number) {
    this.lastSample = now;
  }

  /** The sampling timer fired: the stall it was late by, in ms (0: none). */
  sample(now: number): number {
    const late = now - this.lastSample - STALL_SAMPLE_MS;
    this.lastSample = now;
    if (late < STALL_MIN_MS) return 0;
    this.aftermathUntil = now + STALL_AFTERMATH_MS;
    return late;
  }

  /**
   * Whether something happening now may be the stall's doing: inside the aftermath of a stall
   * the sampler saw, or in one it has not seen yet (its timer overdue: I/O can be read first
   * after a resume).
   */
  inStall(now: number): boolean {
    return now < this.aftermathUntil || now - this.lastSample - STALL_SAMPLE_MS >= STALL_MIN_MS;
  }
}
