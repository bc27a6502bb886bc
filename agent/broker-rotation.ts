/**
 * The order and pace in which the agent tries its brokers (pure: the link does the I/O). A lost
 * connection or a failed attempt moves on to the next broker of the list, round-robin; the wait
 * before each try grows once per full round without a connection, so a dead broker is tried at
 * most once a round however many there are. With one broker it is the plain reconnect backoff.
 * A connection stays where it is: the agent does not move back to the first broker when it returns.
 */
import { backoffDelayMs, type BackoffOptions } from '../shared/backoff.js';

export class BrokerRotation {
  private index = 0;
  /** Failed attempts (lost connections included) since the last connection. */
  private failures = 0;

  constructor(
    readonly count: number,
    private readonly backoff: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`broker rotation needs at least one broker (got ${count})`);
  }

  /** The broker to connect to now (an index into the list). */
  get current(): number {
    return this.index;
  }

  /** Connected: the next loss starts a new round with the shortest wait. */
  connected(): void {
    this.failures = 0;
  }

  /** The connection was lost or the attempt failed: the broker to try next, and the wait before it. */
  next(): { index: number; delayMs: number } {
    const round = Math.floor(this.failures / this.count);
    this.failures++;
    this.index = (this.index + 1) % this.count;
    return { index: this.index, delayMs: backoffDelayMs(round, this.backoff, this.random) };
  }
}
