import { Backoff, type BackoffOptions } from '../../shared/backoff.js';
import { reasonOf, type ConsoleDriver, type ConsoleSink } from './driver.js';
import { LineSplitter, type LogLine } from './lines.js';
import { RotatingLog, rotatedPaths, type RotationOptions } from './log-file.js';
import type { ConsoleStatus } from '../../shared/verbs/results.js';
import { LineMatcher, type ConsoleMatch, type ConsolePattern } from './patterns.js';
import { readLastLines } from './tail.js';
import { WriterLock, type ConsoleWriter } from './writer-lock.js';

export interface SessionHooks {
  now(): number;
  onOutput(node: string, chunk: Buffer): void;
  onMatch(match: ConsoleMatch): void;
  onStatus(status: ConsoleStatus): void;
  onError(node: string, err: Error): void;
}

export interface SessionOptions {
  rotation: RotationOptions;
  backoff: Partial<BackoffOptions>;
  random: () => number;
  /** A partial line (a prompt) is logged and matched after this much quiet. */
  partialFlushMs: number;
  patterns: readonly ConsolePattern[];
}

/** Reconnect delays: 0.5 s growing to 30 s, ± a fifth. */
export const CONSOLE_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Marks muster's own lines in a console log, so they never pass for console output. */
const MARK = '[muster]';

/**
 * One node's console: kept open (reconnecting with backoff when it drops), logged line by line
 * with timestamps, watched for patterns, streamed live, written by at most one client.
 */
export class ConsoleSession {
  readonly lock: WriterLock;
  private readonly log: RotatingLog;
  private readonly splitter = new LineSplitter();
  private readonly matcher: LineMatcher;
  private readonly backoff: Backoff;
  private connected = false;
  private everConnected = false;
  private since: number;
  private reason: string | null = 'connecting';
  private lastLoggedReason: string | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Bumped on every (re)open, so late events of an old connection are ignored. */
  private generation = 0;

  constructor(
    readonly node: string,
    private readonly driver: ConsoleDriver,
    logPath: string,
    private readonly opts: SessionOptions,
    private readonly hooks: SessionHooks,
  ) {
    this.lock = new WriterLock(`node ${node}`);
    this.matcher = new LineMatcher(opts.patterns);
    this.backoff = new Backoff({ ...CONSOLE_BACKOFF, ...opts.backoff }, opts.random);
    this.log = new RotatingLog(logPath, opts.rotation, (err) => hooks.onError(node, err));
    this.since = hooks.now();
  }

  start(): void {
    void this.connect();
  }

  status(): ConsoleStatus {
    return { node: this.node, target: this.driver.target, connected: this.connected, since: this.since, reason: this.reason, writer: this.lock.writer?.who ?? null };
  }

  /** Claims the writer (WriterLock.claim); a takeover is a line in the log and the live stream, for all to see. */
  claimWriter(clientId: string, opts: { who?: string; force?: boolean }): { displaced: ConsoleWriter | null } {
    const r = this.lock.claim(clientId, opts);
    if (r.displaced) this.mark(`writer ${this.lock.writer!.who} took over from ${r.displaced.who} (force)`);
    return r;
  }

  /** A line of muster's own about this console (a handover), in the log and the live stream. */
  note(text: string): void {
    this.mark(text);
  }

  async write(clientId: string, data: Buffer): Promise<void> {
    this.lock.check(clientId);
    if (!this.connected) throw new Error(`node ${this.node}: console is not connected (${this.reason})`);
    await this.driver.write(data).catch((err) => {
      throw new Error(`node ${this.node}: console write failed: ${reasonOf(err)}`);
    });
  }

  async tail(n: number): Promise<string[]> {
    await this.log.flush();
    return readLastLines(rotatedPaths(this.log.path, this.opts.rotation.files), n);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    this.clearTimer('retryTimer');
    this.clearTimer('flushTimer');
    await this.driver.close().catch((err) => this.hooks.onError(this.node, new Error(`node ${this.node}: console close failed: ${reasonOf(err)}`)));
    this.flushPartial();
    if (this.connected) this.mark('console closed');
    await this.log.close();
  }

  private async connect(): Promise<void> {
    this.retryTimer = null;
    if (this.stopped) return;
    const generation = ++this.generation;
    const sink: ConsoleSink = {
      data: (chunk) => generation === this.generation && this.ingest(chunk),
      closed: (reason) => generation === this.generation && this.lost(reason),
    };
    try {
      await this.driver.open(sink);
    } catch (err) {
      if (generation !== this.generation) return;
      const reason = reasonOf(err);
      // Each distinct reason once: a console that stays away does not fill its own log.
      if (reason !== this.lastLoggedReason) this.mark(`console ${this.everConnected ? 'reconnect failed' : 'unavailable'}: ${reason}`);
      this.lastLoggedReason = reason;
      this.setDisconnected(reason);
      return this.retryLater();
    }
    if (generation !== this.generation) return;
    this.mark(this.everConnected ? 'console reconnected' : `console opened: ${this.driver.target}`);
    this.everConnected = true;
    this.lastLoggedReason = null;
    this.connected = true;
    this.reason = null;
    this.since = this.hooks.now();
    this.backoff.reset();
    this.hooks.onStatus(this.status());
  }

  private lost(reason: string): void {
    this.mark(`console lost: ${reason}`);
    this.lastLoggedReason = reason;
    this.setDisconnected(reason);
    this.retryLater();
  }

  private setDisconnected(reason: string): void {
    const wasConnected = this.connected || this.reason === 'connecting';
    this.connected = false;
    this.reason = reason;
    if (wasConnected) {
      this.since = this.hooks.now();
      this.hooks.onStatus(this.status());
    }
  }

  private retryLater(): void {
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => void this.connect(), this.backoff.next());
  }

  private ingest(chunk: Buffer): void {
    this.hooks.onOutput(this.node, chunk);
    for (const line of this.splitter.push(chunk, this.hooks.now())) this.record(line);
    if (!this.splitter.hasPartial) this.clearTimer('flushTimer');
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flushPartial(), this.opts.partialFlushMs);
  }

  private flushPartial(): void {
    this.clearTimer('flushTimer');
    const line = this.splitter.flushPartial(this.hooks.now());
    if (line) this.record(line);
  }

  private record(line: LogLine): void {
    this.log.append(`${new Date(line.at).toISOString()} ${line.text}`);
    for (const pattern of this.matcher.match(line)) this.hooks.onMatch({ node: this.node, pattern, line: line.full, at: line.at });
  }

  /** A line of muster's own in the log and the live stream, after any partial console line. */
  private mark(text: string): void {
    this.flushPartial();
    const line = `${MARK} ${text}`;
    this.log.append(`${new Date(this.hooks.now()).toISOString()} ${line}`);
    this.hooks.onOutput(this.node, Buffer.from(`\r\n${line}\r\n`, 'utf8'));
  }

  private clearTimer(which: 'retryTimer' | 'flushTimer'): void {
    const t = this[which];
    if (t) clearTimeout(t);
    this[which] = null;
  }
}
