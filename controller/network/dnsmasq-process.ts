import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Backoff, type BackoffOptions } from '../../shared/backoff.js';

/** Restarts spaced like a console's reconnects: quick after a one-off crash, at most every 30 s. */
const RESTART_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

export interface DnsmasqProcessOptions {
  /** The command line: the executable (or a wrapper such as `ip netns exec NS`) and its arguments. */
  argv: readonly string[];
  backoff?: Partial<BackoffOptions>;
  /** A run this long counts as healthy: the next failure starts the backoff over. */
  healthyAfterMs?: number;
  /** Every line dnsmasq prints (its log goes to stderr). */
  onLine(line: string): void;
  /** dnsmasq exited while it should run; it is started again after `retryInMs`. */
  onExit(reason: string, retryInMs: number): void;
}

/**
 * One dnsmasq kept running in the foreground: restarted with backoff when it dies (like a console
 * reconnects), told to re-read its hosts file with SIGHUP, stopped with SIGTERM.
 */
export class DnsmasqProcess {
  private child: ChildProcess | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private healthyTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly backoff: Backoff;

  constructor(private readonly opts: DnsmasqProcessOptions) {
    this.backoff = new Backoff({ ...RESTART_BACKOFF, ...opts.backoff });
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  start(): void {
    this.retryTimer = null;
    if (this.stopped) return;
    const [cmd, ...args] = this.opts.argv as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (l) => this.opts.onLine(l));
    this.healthyTimer = setTimeout(() => this.backoff.reset(), this.opts.healthyAfterMs ?? 10_000);
    let reason: string | null = null;
    child.on('error', (err) => (reason = `cannot start ${cmd}: ${err.message}`));
    child.on('close', (code, signal) => {
      if (this.child === child) this.child = null;
      this.clear('healthyTimer');
      if (this.stopped) return;
      const delay = this.backoff.next();
      this.opts.onExit(reason ?? (signal ? `killed by ${signal}` : `exited with status ${code}`), delay);
      this.retryTimer = setTimeout(() => this.start(), delay);
    });
  }

  /** SIGHUP: dnsmasq re-reads its hosts file (not its main config). False when it is not running. */
  reload(): boolean {
    return this.child?.kill('SIGHUP') ?? false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clear('retryTimer');
    this.clear('healthyTimer');
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    await closed;
    clearTimeout(kill);
  }

  private clear(which: 'retryTimer' | 'healthyTimer'): void {
    const t = this[which];
    if (t) clearTimeout(t);
    this[which] = null;
  }
}
