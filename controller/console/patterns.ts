import type { LogLine } from './lines.js';

/** A named regular expression watched for on console lines (configurable per node or group). */
export interface ConsolePattern {
  name: string;
  /** JavaScript regular expression source; null or "" removes an inherited pattern of that name. */
  regex: string | null;
  /** Regular expression flags, e.g. "i". */
  flags?: string;
}

/** What the lead turns into a `console` event and evidence for the state manager. */
export interface ConsoleMatch {
  node: string;
  pattern: string;
  /** The whole console line as logged. */
  line: string;
  /** When the line's first byte arrived (ms since the epoch). */
  at: number;
}

export const DEFAULT_PATTERNS: readonly ConsolePattern[] = [
  { name: 'kernel-panic', regex: 'Kernel panic' },
  { name: 'kernel-bug', regex: '\\bBUG:' },
  { name: 'call-trace', regex: 'Call Trace' },
  // A getty prompt ends the line without a newline: it is seen when the partial line is flushed.
  { name: 'login-prompt', regex: '\\blogin:\\s*$' },
];

/** Layers patterns (defaults, then group, then node): a later entry replaces one of the same name. */
export function mergePatterns(...layers: ReadonlyArray<readonly ConsolePattern[] | undefined>): ConsolePattern[] {
  const byName = new Map<string, ConsolePattern>();
  for (const layer of layers) for (const p of layer ?? []) byName.set(p.name, p);
  return [...byName.values()].filter((p) => p.regex);
}

interface Compiled {
  name: string;
  re: RegExp;
}

/**
 * Reports which patterns a console line matches. Lines come from LineSplitter, so a match never
 * depends on chunk boundaries; a pattern matched on a flushed partial line is not reported again
 * when the rest of that line arrives.
 */
export class LineMatcher {
  private readonly compiled: Compiled[];
  private reportedOnThisLine = new Set<string>();

  constructor(patterns: readonly ConsolePattern[]) {
    this.compiled = patterns.filter((p) => p.regex).map(compile);
  }

  /** Names of patterns newly matched by this line. */
  match(line: LogLine): string[] {
    const hits: string[] = [];
    for (const { name, re } of this.compiled) {
      if (this.reportedOnThisLine.has(name) || !re.test(line.full)) continue;
      hits.push(name);
      if (!line.complete) this.reportedOnThisLine.add(name);
    }
    if (line.complete) this.reportedOnThisLine.clear();
    return hits;
  }
}

function compile(p: ConsolePattern): Compiled {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(p.name)) throw new Error(`console pattern name "${p.name}" must be 1-64 letters, digits, "_", "." or "-"`);
  if (p.flags && /[gy]/.test(p.flags)) throw new Error(`console pattern "${p.name}": flags "g" and "y" are not allowed (they make matching stateful)`);
  try {
    return { name: p.name, re: new RegExp(p.regex!, p.flags) };
  } catch (err) {
    throw new Error(`console pattern "${p.name}": invalid regular expression: ${(err as Error).message}`);
  }
}
