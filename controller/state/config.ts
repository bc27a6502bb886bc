/**
 * Policy configuration: the `policies` section of the controller config file, its defaults, and
 * the per-node resolution over groups. Durations are written as seconds or `30s`/`10m`/`1.5h`/`2m30s` and
 * are milliseconds once parsed.
 */
import { z } from 'zod';
import { describeZodError } from '../../shared/protocol.js';
import { formatDuration, parseDuration } from '../../shared/duration.js';
import { DEFAULT_VERIFY_OFF_TIMEOUT_MS } from '../power/guarded.js';

/** Nodes without any group are treated as members of this one (for overrides and the breaker). */
export const UNGROUPED = 'ungrouped';

export const CORRECTIVE_ACTIONS = ['reset', 'power-cycle'] as const;
export type CorrectiveAction = (typeof CORRECTIVE_ACTIONS)[number];

/** A number of seconds, or text like `30s`, `10m`, `1.5h`, `2m30s`; parsed to milliseconds. */
export const Duration = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return Math.round(value * 1_000);
  try {
    return parseDuration(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `duration "${value}" must be a number of seconds or like 500ms, 90s, 10m, 1.5h, 2d, 2m30s` });
    return z.NEVER;
  }
});
/** A duration, or `off`/null to switch the rule off. */
const OptionalDuration = z.union([z.literal('off'), z.null(), Duration]).transform((v) => (v === 'off' ? null : v));
const count = z.number().int().positive();

const HeartbeatSection = z.strictObject({
  interval: Duration.refine((ms) => ms >= 100, 'heartbeat interval must be at least 100ms'),
  suspectAfterMissed: count,
  deadAfterMissed: count,
});
const PhaseDeadlinesSection = z.strictObject({ build: OptionalDuration, kernel: OptionalDuration, init: OptionalDuration });
const BootLoopSection = z.strictObject({
  /** Reboots (not caused by muster) within `within` that make a boot loop; 0 switches it off. */
  reboots: z.number().int().nonnegative(),
  within: Duration,
});
const ConsolePanicSection = z.strictObject({ patterns: z.array(z.string().min(1).max(64)).max(32) });
const LadderSection = z.strictObject({
  captureConsole: z.boolean(),
  steps: z.array(z.enum(CORRECTIVE_ACTIONS)).min(1).max(8),
  maxAttempts: count,
  maxActionsPerDay: count,
  backoff: Duration,
  backoffFactor: z.number().min(1).max(10),
  awaitBoot: Duration,
  actionTimeout: Duration,
  stableAfter: Duration,
});
const BreakerSection = z.strictObject({
  threshold: z.number().gt(0).lt(1),
  minNodes: count,
  window: Duration,
  /** How long a node must have been silent before muster acts on it, so a mass silence trips the breaker first. */
  settle: Duration,
});

/** What a group may override: any field of any section. */
export const PolicyOverride = z.strictObject({
  dryRun: z.boolean(),
  deadWhileOnline: z.boolean(),
  heartbeat: HeartbeatSection.partial(),
  phaseDeadlines: PhaseDeadlinesSection.partial(),
  bootLoop: BootLoopSection.partial(),
  consolePanic: ConsolePanicSection.partial(),
  ladder: LadderSection.partial(),
  breaker: BreakerSection.partial(),
}).partial();
export type PolicyOverride = z.output<typeof PolicyOverride>;

/** The policies that apply to one node (or one group), every field given, durations in ms. */
export interface NodePolicy {
  dryRun: boolean;
  deadWhileOnline: boolean;
  heartbeat: z.output<typeof HeartbeatSection>;
  phaseDeadlines: z.output<typeof PhaseDeadlinesSection>;
  bootLoop: z.output<typeof BootLoopSection>;
  consolePanic: z.output<typeof ConsolePanicSection>;
  ladder: z.output<typeof LadderSection>;
  breaker: z.output<typeof BreakerSection>;
}

export const DEFAULT_POLICY: NodePolicy = {
  dryRun: false,
  deadWhileOnline: true,
  heartbeat: { interval: 5_000, suspectAfterMissed: 2, deadAfterMissed: 4 },
  phaseDeadlines: { build: 60 * 60_000, kernel: 10 * 60_000, init: 15 * 60_000 },
  bootLoop: { reboots: 3, within: 15 * 60_000 },
  consolePanic: { patterns: ['kernel-panic'] },
  ladder: {
    captureConsole: true,
    steps: ['reset', 'power-cycle'],
    maxAttempts: 3,
    maxActionsPerDay: 6,
    backoff: 60_000,
    backoffFactor: 2,
    awaitBoot: 10 * 60_000,
    actionTimeout: 5 * 60_000,
    stableAfter: 10 * 60_000,
  },
  breaker: { threshold: 0.2, minNodes: 3, window: 30_000, settle: 10_000 },
};
export const DEFAULT_GRACE_MS = 30_000;

const GroupName = z.string().regex(/^[A-Za-z0-9_.-]{1,63}$/, 'group name must be 1-63 letters, digits, "_", "." or "-"');

/** The `policies` section of the controller config file: global settings plus `groups:` overrides. */
export const PolicyConfig = PolicyOverride.extend({
  /** After controller start or broker reconnect, no automatic action for this long. */
  grace: Duration.optional(),
  groups: z.record(GroupName, PolicyOverride).optional(),
})
  .transform((file, ctx) => {
    const { grace, groups = {}, ...global } = file;
    const base = applyOverride(DEFAULT_POLICY, global);
    const globalProblem = inconsistency(base);
    if (globalProblem) ctx.addIssue({ code: 'custom', path: [], message: globalProblem });
    for (const [name, override] of Object.entries(groups)) {
      const problem = inconsistency(applyOverride(base, override));
      if (problem) ctx.addIssue({ code: 'custom', path: ['groups', name], message: problem });
    }
    return { graceMs: grace ?? DEFAULT_GRACE_MS, base, groups };
  });
export type PolicyConfig = z.output<typeof PolicyConfig>;

/** Parse the `policies` section (undefined = all defaults); the error names the bad field. */
export function parsePolicyConfig(raw: unknown): PolicyConfig {
  const r = PolicyConfig.safeParse(raw ?? {});
  if (!r.success) throw new Error(`policies config: ${describeZodError(r.error)}`);
  return r.data;
}

/**
 * The policy for a member of `groups`: the global settings, then each matching group's overrides
 * in the order the groups appear in the config file (a later group wins).
 */
export function resolvePolicy(config: PolicyConfig, groups: readonly string[]): NodePolicy {
  let policy = config.base;
  for (const [name, override] of Object.entries(config.groups)) {
    if (groups.includes(name)) policy = applyOverride(policy, override);
  }
  return policy;
}

function applyOverride(base: NodePolicy, o: PolicyOverride): NodePolicy {
  return {
    dryRun: o.dryRun ?? base.dryRun,
    deadWhileOnline: o.deadWhileOnline ?? base.deadWhileOnline,
    heartbeat: merge(base.heartbeat, o.heartbeat),
    phaseDeadlines: merge(base.phaseDeadlines, o.phaseDeadlines),
    bootLoop: merge(base.bootLoop, o.bootLoop),
    consolePanic: merge(base.consolePanic, o.consolePanic),
    ladder: merge(base.ladder, o.ladder),
    breaker: merge(base.breaker, o.breaker),
  };
}

function merge<T extends object>(base: T, over: Partial<T> | undefined): T {
  const out = { ...base };
  for (const [k, v] of Object.entries(over ?? {})) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function inconsistency(p: NodePolicy): string | null {
  if (p.heartbeat.deadAfterMissed <= p.heartbeat.suspectAfterMissed) {
    return `heartbeat.deadAfterMissed (${p.heartbeat.deadAfterMissed}) must be greater than suspectAfterMissed (${p.heartbeat.suspectAfterMissed})`;
  }
  // A power cycle waits up to the verify-off time for the node to read off: a shorter action
  // timeout gives up on every slow cycle and collides with its own still-running attempt.
  if (p.ladder.actionTimeout <= DEFAULT_VERIFY_OFF_TIMEOUT_MS) {
    return `ladder.actionTimeout (${formatDuration(p.ladder.actionTimeout)}) must be longer than a power cycle's verify-off wait (${formatDuration(DEFAULT_VERIFY_OFF_TIMEOUT_MS)})`;
  }
  for (const [phase, deadline] of Object.entries(p.phaseDeadlines)) {
    if (deadline !== null && deadline <= p.heartbeat.interval) {
      return `phaseDeadlines.${phase} (${formatDuration(deadline)}) must be longer than heartbeat.interval (${formatDuration(p.heartbeat.interval)}): a node could not report its phase in time`;
    }
  }
  return null;
}
