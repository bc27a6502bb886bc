/**
 * Exponential retry delays with jitter, so that many clients cut off together (a rack of agents,
 * the consoles behind one terminal server) do not retry in step. Zod-free: the agent bundles it.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** ± fraction of randomness around each step. */
  jitter: number;
}

/** The delay before retry `attempt` (0-based): the step `initialMs · factor^attempt`, capped at `maxMs`, ± `jitter` of it. */
export function backoffDelayMs(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const step = Math.min(opts.maxMs, opts.initialMs * opts.factor ** attempt);
  return Math.round(step * (1 + opts.jitter * (2 * random() - 1)));
}

/** Counts the attempts for `backoffDelayMs`; `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {
    const { initialMs, maxMs, factor, jitter } = opts;
    if (!(initialMs > 0 && maxMs >= initialMs && factor >= 1 && jitter >= 0 && jitter < 1)) {
      throw new Error(`backoff ${JSON.stringify(opts)} is invalid: need 0 < initialMs <= maxMs, factor >= 1, 0 <= jitter < 1`);
    }
  }

  /** The delay before the next attempt (ms); each call lengthens the following one. */
  next(): number {
    return backoffDelayMs(this.attempt++, this.opts, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}
