/**
 * The one interface every console kind implements (Ironic style: a new kind is a new file in
 * drivers/ plus one entry in registry.ts, and never touches the manager). A driver is a
 * reopenable byte connection.
 */

/** Where a driver delivers what happens on an open connection. */
export interface ConsoleSink {
  /** Bytes that arrived from the console, in order. */
  data(chunk: Buffer): void;
  /** The connection ended without close() being called (port vanished, peer hung up, error). */
  closed(reason: string): void;
}

export interface ConsoleDriver {
  /** The target for people and logs, with any secret redacted. */
  readonly target: string;
  /** Opens (or reopens after a close) the connection; rejects with the reason when it cannot. */
  open(sink: ConsoleSink): Promise<void>;
  /** Sends bytes to the console; rejects when the connection is not open. */
  write(data: Buffer): Promise<void>;
  /** Closes the connection; the sink hears nothing more, and closed() is not called. */
  close(): Promise<void>;
}

/** What a kind's parser knows besides the target text. */
export interface ConsoleTargetContext {
  /** The node's power target (`ipmi://user:pass@host:port`), which `sol:` uses. */
  ipmiUrl?: string;
}

/** A registry entry: one console kind, how its targets are spelt, and how its driver is made. */
export interface ConsoleKind<T extends { kind: string }> {
  kind: T['kind'];
  /** Whether `target` is of this kind (by its prefix). */
  claims(target: string): boolean;
  /** How the target is spelt, for errors and help: `serial:/dev/NAME[@BAUD]`. */
  syntax: string;
  /** Parses a target this kind claims; pure, throws a plain Error saying what is wrong. */
  parse(target: string, ctx: ConsoleTargetContext): T;
  create(target: T, node: string): ConsoleDriver;
}

/** The reason text of anything thrown, for "console lost: <reason>" lines and errors. */
export function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
