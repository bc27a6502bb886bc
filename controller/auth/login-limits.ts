/**
 * How fast passwords may be guessed, and how much scrypt may run at once. Pure (the clock is
 * injected), so the rules are tested with plain data:
 * - per source address and per user name, a few failed logins are free; after that each attempt
 *   must wait a delay that doubles with every failure (up to a cap), and an attempt that comes
 *   earlier is refused without checking its password. Failures are forgotten after a quiet spell.
 * - every checked attempt counts as a failure until it succeeds, so a burst of concurrent
 *   attempts is throttled before any of them has finished.
 * - at most a few scrypt checks run at once (each takes a libuv thread and 16 MiB), a bounded
 *   number wait, and the rest are refused as busy. A source with fewer failures goes first, so a
 *   user's login does not wait behind a guesser's queue.
 */

export interface BackoffRule {
  /** Failures before any delay. */
  free: number;
  /** Delay after the first failure past `free`; doubled for each further one. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Failures older than this (since the last one) are forgotten. */
  forgetAfterMs: number;
}

export const SOURCE_RULE: BackoffRule = { free: 4, firstDelayMs: 1000, maxDelayMs: 5 * 60_000, forgetAfterMs: 15 * 60_000 };
/** Milder than per source: a user under attack from many addresses is locked out for a minute at most. */
export const USER_RULE: BackoffRule = { free: 10, firstDelayMs: 1000, maxDelayMs: 60_000, forgetAfterMs: 15 * 60_000 };

/** Entries kept per table; the least recently failed go first (an attacker inventing names or addresses). */
const MAX_ENTRIES = 10_000;

interface Failures {
  count: number;
  lastAt: number;
}

class Backoff {
  private readonly entries = new Map<string, Failures>();

  constructor(
    private readonly rule: BackoffRule,
    private readonly now: () => number,
  ) {}

  failures(key: string): number {
    return this.current(key)?.count ?? 0;
  }

  /** Milliseconds until `key` may try again; 0: now. */
  waitMs(key: string): number {
    const f = this.current(key);
    if (!f || f.count < this.rule.free) return 0;
    const delay = Math.min(this.rule.maxDelayMs, this.rule.firstDelayMs * 2 ** (f.count - this.rule.free));
    return Math.max(0, f.lastAt + delay - this.now());
  }

  fail(key: string): void {
    const count = (this.current(key)?.count ?? 0) + 1;
    this.entries.delete(key); // re-inserted last: the map's order is the pruning order
    this.entries.set(key, { count, lastAt: this.now() });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Takes back one failure (an attempt charged up front that succeeded). */
  refund(key: string): void {
    const f = this.entries.get(key);
    if (!f) return;
    if (f.count <= 1) this.entries.delete(key);
    else f.count--;
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  private current(key: string): Failures | undefined {
    const f = this.entries.get(key);
    if (f && this.now() - f.lastAt > this.rule.forgetAfterMs) {
      this.entries.delete(key);
      return undefined;
    }
    return f;
  }
}

export class LoginThrottle {
  private readonly sources: Backoff;
  private readonly users: Backoff;

  constructor(now: () => number, rules: { source: BackoffRule; user: BackoffRule } = { source: SOURCE_RULE, user: USER_RULE }) {
    this.sources = new Backoff(rules.source, now);
    this.users = new Backoff(rules.user, now);
  }

  /**
   * Null when `user` may try a password from `source` now (the attempt is charged as a failure
   * until `succeeded`), else why not.
   */
  begin(source: string, user: string): string | null {
    const bySource = this.sources.waitMs(source);
    if (bySource > 0) return `too many failed logins from ${source}; next attempt in ${Math.ceil(bySource / 1000)} s`;
    const byUser = this.users.waitMs(user);
    if (byUser > 0) return `too many failed logins for "${user.slice(0, 64)}"; next attempt in ${Math.ceil(byUser / 1000)} s`;
    this.sources.fail(source);
    this.users.fail(user);
    return null;
  }

  /** Failed (or unfinished) attempts from `source` not yet forgotten: its place in the scrypt queue. */
  sourceFailures(source: string): number {
    return this.sources.failures(source);
  }

  /**
   * A correct password: the user's failures are cleared; the source gets only this attempt back
   * (a login with one account must not reset the guessing of another).
   */
  succeeded(source: string, user: string): void {
    this.sources.refund(source);
    this.users.clear(user);
  }
}

/**
 * Runs at most `running` tasks at once with at most `waiting` queued, lowest `rank` first (in
 * arrival order within a rank), and refuses beyond that. `reserved` of the running slots are
 * only for rank 0: a user whose source has no failures never waits for a guesser's check to end.
 */
export class ConcurrencyGate {
  private active = 0;
  private readonly queue: Array<{ rank: number; start: () => void }> = [];

  constructor(
    private readonly running: number,
    private readonly waiting: number,
    private readonly reserved = 0,
  ) {}

  /** Null when the queue is full (the task was not run). */
  async run<T>(task: () => Promise<T>, rank = 0): Promise<T | null> {
    if (this.canStart(rank)) this.active++;
    else if (this.queue.length >= this.waiting) return null;
    else {
      await new Promise<void>((start) => {
        const at = this.queue.findIndex((w) => w.rank > rank);
        this.queue.splice(at === -1 ? this.queue.length : at, 0, { rank, start });
      });
    }
    try {
      return await task();
    } finally {
      this.active--;
      // The queue is in rank order and higher ranks get fewer slots: when its head cannot start, none can.
      while (this.queue.length > 0 && this.canStart(this.queue[0]!.rank)) {
        this.active++;
        this.queue.shift()!.start();
      }
    }
  }

  private canStart(rank: number): boolean {
    return this.active < (rank === 0 ? this.running : this.running - this.reserved);
  }
}
