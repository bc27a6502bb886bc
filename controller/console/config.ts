/**
 * The `consoles:` section of the controller config: patterns over the defaults (all nodes, per
 * group, per node), log rotation, reconnect backoff, and which pattern names open a hardware-log
 * issue. Pure: parsing and per-node resolution.
 */
import { z } from 'zod';
import { DEFAULT_PATTERNS, LineMatcher, mergePatterns, type ConsolePattern } from './patterns.js';

const Pattern = z.strictObject({
  name: z.string(),
  /** "" or null removes an inherited pattern of that name. */
  regex: z.string().nullable(),
  flags: z.string().optional(),
});
const Patterns = z.array(Pattern);

export const ConsolesConfig = z
  .strictObject({
    patterns: Patterns.default([]),
    groups: z.record(z.string(), Patterns).default({}),
    nodes: z.record(z.string(), Patterns).default({}),
    rotation: z.strictObject({ maxBytes: z.number().int().min(256), files: z.number().int().min(1).max(100) }).partial().default({}),
    backoff: z
      .strictObject({ initialMs: z.number().int().positive(), maxMs: z.number().int().positive(), factor: z.number().min(1), jitter: z.number().min(0).max(1) })
      .partial()
      .default({}),
    /** Pattern names whose match opens a hardware-log issue on the node (source `console`). */
    hwlog: z.array(z.string()).default([]),
  })
  .superRefine((c, ctx) => {
    // Every layer compiles on its own, so a bad regex is refused at start, named by where it is.
    const layers: Array<[string, ConsolePattern[]]> = [['patterns', c.patterns], ...Object.entries(c.groups).map(([g, p]): [string, ConsolePattern[]] => [`groups.${g}`, p]), ...Object.entries(c.nodes).map(([n, p]): [string, ConsolePattern[]] => [`nodes.${n}`, p])];
    for (const [where, patterns] of layers) {
      try {
        new LineMatcher(patterns);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: where.split('.'), message: (err as Error).message });
      }
    }
  })
  .default({ patterns: [], groups: {}, nodes: {}, rotation: {}, backoff: {}, hwlog: [] });
export type ConsolesConfig = z.output<typeof ConsolesConfig>;

/** A node's patterns: the defaults, then `patterns`, then its groups' in order, then its own. */
export function nodePatterns(config: ConsolesConfig, node: string, groups: readonly string[]): ConsolePattern[] {
  return mergePatterns(DEFAULT_PATTERNS, config.patterns, ...groups.map((g) => config.groups[g]), config.nodes[node]);
}
