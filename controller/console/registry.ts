/**
 * Console kinds, and the parser and driver factory derived from them. A new kind is a new file
 * in drivers/ exporting a `ConsoleKind` plus one entry in KINDS; nothing else changes.
 */
import { reasonOf, type ConsoleDriver, type ConsoleKind, type ConsoleTargetContext } from './driver.js';
import { serialConsole } from './drivers/serial.js';
import { simConsole } from './drivers/sim.js';
import { solConsole } from './drivers/sol.js';
import { tcpConsole } from './drivers/tcp.js';
import { redactUrl } from './target.js';

const KINDS = [serialConsole, tcpConsole, solConsole, simConsole] as const;

/** A parsed console target: `{ kind, ...what that kind's driver needs }`. */
export type ConsoleTarget = ReturnType<(typeof KINDS)[number]['parse']>;

const ENTRIES: readonly ConsoleKind<ConsoleTarget>[] = KINDS;

/** The console kinds, e.g. for help texts. */
export const CONSOLE_KINDS: readonly string[] = ENTRIES.map((k) => k.kind);

/**
 * Parses a node's `console=` target (`serial:/dev/ttyS0@115200`, `tcp://host:port`, `sol:`,
 * `sol:ipmi://…`, `sim://`). Pure. Errors name the target with any password redacted.
 */
export function parseConsoleTarget(target: string, ctx: ConsoleTargetContext = {}): ConsoleTarget {
  return resolve(target, ctx).parsed;
}

/** The driver for a node's `console=` target; `ipmiUrl` (the node's power target) serves `sol:`. */
export function createConsoleDriver(node: string, target: string, ctx: ConsoleTargetContext = {}): ConsoleDriver {
  const { entry, parsed } = resolve(target, ctx);
  return entry.create(parsed, node);
}

function resolve(target: string, ctx: ConsoleTargetContext): { entry: ConsoleKind<ConsoleTarget>; parsed: ConsoleTarget } {
  const bad = (why: string) => new Error(`console target "${redactUrl(target)}": ${why}`);
  const entry = ENTRIES.find((k) => k.claims(target));
  if (!entry) throw bad(`unknown kind (expected ${ENTRIES.map((k) => k.syntax).join(', ')})`);
  try {
    return { entry, parsed: entry.parse(target, ctx) };
  } catch (err) {
    throw bad(reasonOf(err));
  }
}
