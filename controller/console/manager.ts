import { join } from 'node:path';
import { NodeName } from '../../shared/protocol.js';
import type { BackoffOptions } from '../../shared/backoff.js';
import type { ConsoleDriver } from './driver.js';
import { DEFAULT_ROTATION, type RotationOptions } from './log-file.js';
import { DEFAULT_PATTERNS, type ConsoleMatch, type ConsolePattern } from './patterns.js';
import type { ConsoleStatus } from '../../shared/verbs/results.js';
import { createConsoleDriver } from './registry.js';
import { ConsoleSession } from './session.js';
import type { ConsoleWriter } from './writer-lock.js';

export interface ConsoleManagerOptions {
  /** Logs go to `<dataDir>/consoles/<node>.log`. */
  dataDir: string;
  rotation?: Partial<RotationOptions>;
  backoff?: Partial<BackoffOptions>;
  /** A partial line (a prompt without newline) is logged and matched after this much quiet; default 500 ms. */
  partialFlushMs?: number;
  now?: () => number;
  random?: () => number;
  /** Live console bytes (the controller publishes them to `muster/consoles/<node>/out`). */
  onOutput?: (node: string, chunk: Buffer) => void;
  onMatch?: (match: ConsoleMatch) => void;
  /** Connected / disconnected changes. */
  onStatus?: (status: ConsoleStatus) => void;
  /** Trouble that has no caller to throw to (a log file that cannot be written). */
  onError?: (node: string, err: Error) => void;
}

export interface ConsoleSpec {
  /** The node's `console=` target; or give `driver` instead. */
  target?: string;
  /** The node's IPMI power target, for `sol:`. */
  ipmiUrl?: string;
  /** A driver made by the caller (the demo keeps its SimConsole to make it boot). */
  driver?: ConsoleDriver;
  /** The node's patterns, already merged (mergePatterns); default DEFAULT_PATTERNS. */
  patterns?: readonly ConsolePattern[];
}

/** Every node's console, kept open and logged all the time (ConMan style). */
export class ConsoleManager {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly rotation: RotationOptions;

  constructor(private readonly opts: ConsoleManagerOptions) {
    this.rotation = { ...DEFAULT_ROTATION, ...opts.rotation };
  }

  /** Starts keeping `node`'s console; replaces (stops) an earlier one for the same node. */
  async add(node: string, spec: ConsoleSpec): Promise<void> {
    const name = NodeName.safeParse(node);
    if (!name.success) throw new Error(`console for "${node}": ${name.error.issues[0]?.message ?? 'bad node name'}`);
    if ((spec.target === undefined) === (spec.driver === undefined)) throw new Error(`node ${node}: a console needs exactly one of target or driver`);
    const driver = spec.driver ?? createConsoleDriver(node, spec.target!, { ipmiUrl: spec.ipmiUrl });
    await this.remove(node);
    const session = new ConsoleSession(
      node,
      driver,
      this.logPath(node),
      {
        rotation: this.rotation,
        backoff: this.opts.backoff ?? {},
        random: this.opts.random ?? Math.random,
        partialFlushMs: this.opts.partialFlushMs ?? 500,
        patterns: spec.patterns ?? DEFAULT_PATTERNS,
      },
      {
        now: this.opts.now ?? Date.now,
        onOutput: this.opts.onOutput ?? (() => undefined),
        onMatch: this.opts.onMatch ?? (() => undefined),
        onStatus: this.opts.onStatus ?? (() => undefined),
        onError: this.opts.onError ?? (() => undefined),
      },
    );
    this.sessions.set(node, session);
    session.start();
  }

  /** Stops and closes `node`'s console (its log stays). */
  async remove(node: string): Promise<void> {
    const session = this.sessions.get(node);
    this.sessions.delete(node);
    await session?.stop();
  }

  nodes(): string[] {
    return [...this.sessions.keys()];
  }

  status(node: string): ConsoleStatus {
    return this.session(node).status();
  }

  /**
   * Makes `clientId` (`who`: `alice@ws1`) the one writer; fails if another holds it, unless
   * `force` (then says whom it displaced).
   */
  claimWriter(node: string, clientId: string, opts: { who?: string; force?: boolean } = {}): { displaced: ConsoleWriter | null } {
    return this.session(node).claimWriter(clientId, opts);
  }

  /** The one writer of `node`'s console, or null. */
  writer(node: string): ConsoleWriter | null {
    return this.session(node).lock.writer;
  }

  releaseWriter(node: string, clientId: string): boolean {
    return this.session(node).lock.release(clientId);
  }

  /** Drops `clientId` as writer on every console (call when a client disconnects). */
  releaseClient(clientId: string): string[] {
    return [...this.sessions.values()].filter((s) => s.lock.release(clientId)).map((s) => s.node);
  }

  /** Writes a line of muster's own (`[muster] …`) in the node's log and live stream. */
  note(node: string, text: string): void {
    this.session(node).note(text);
  }

  /** Sends bytes from the attached writer to the console. */
  write(node: string, clientId: string, data: Buffer): Promise<void> {
    return this.session(node).write(clientId, data);
  }

  /** The last `n` lines of the node's log, across rotated files. */
  tail(node: string, n: number): Promise<string[]> {
    return this.session(node).tail(n);
  }

  logPath(node: string): string {
    return join(this.opts.dataDir, 'consoles', `${node}.log`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((node) => this.remove(node)));
  }

  private session(node: string): ConsoleSession {
    const session = this.sessions.get(node);
    if (!session) throw new Error(`node ${node}: no console is configured`);
    return session;
  }
}
