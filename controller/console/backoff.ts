export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** ± fraction of randomness, so many consoles behind one rebooted terminal server do not retry in step. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Exponential reconnect delays. Pure apart from the injected random source. */
export class Backoff {
  private attempt = 0;
  private readonly opts: BackoffOptions;

  constructor(opts: Partial<BackoffOptions> = {}, private readonly random: () => number = Math.random) {
    this.opts = { ...DEFAULT_BACKOFF, ...opts };
    const { initialMs, maxMs, factor, jitter } = this.opts;
    if (!(initialMs > 0 && maxMs >= initialMs && factor >= 1 && jitter >= 0 && jitter < 1)) {
      throw new Error(`console backoff ${JSON.stringify(this.opts)} is invalid: need 0 < initialMs <= maxMs, factor >= 1, 0 <= jitter < 1`);
    }
  }

  /** The delay before the next attempt (ms); each call lengthens the following one. */
  next(): number {
    const { initialMs, maxMs, factor, jitter } = this.opts;
    const base = Math.min(maxMs, initialMs * factor ** this.attempt);
    this.attempt++;
    return Math.round(base * (1 + jitter * (2 * this.random() - 1)));
  }

  reset(): void {
    this.attempt = 0;
  }
}
