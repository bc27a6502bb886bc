/** Time rules on boot progress: how long a node may stay in a phase, and boot loops. */
import type { Phase } from '../../shared/protocol.js';
import type { NodePolicy } from './config.js';

/** What a node in each bounded phase is expected to do before its deadline. */
const EXPECTED: Readonly<Record<string, string>> = { kernel: 'reach init', init: 'reach run', build: 'finish the build' };
/** The same, said of the node: `phase-deadline acts at … unless it reaches init`. */
export const EXPECTED_NEXT: Readonly<Record<string, string>> = { kernel: 'reaches init', init: 'reaches run', build: 'finishes the build' };

/** When a node that entered `phase` at `since` is overdue; null when the phase has no deadline. */
export function phaseDeadlineAt(phase: Phase, since: number, deadlines: NodePolicy['phaseDeadlines']): number | null {
  if (phase !== 'build' && phase !== 'kernel' && phase !== 'init') return null;
  const limit = deadlines[phase];
  return limit === null ? null : since + limit;
}

export interface OverduePhase {
  phase: Phase;
  since: number;
  limitMs: number;
  expected: string;
}

export function overduePhase(phase: Phase, since: number, now: number, deadlines: NodePolicy['phaseDeadlines']): OverduePhase | null {
  const due = phaseDeadlineAt(phase, since, deadlines);
  if (due === null || now < due) return null;
  return { phase, since, limitMs: due - since, expected: EXPECTED[phase] ?? 'progress' };
}

/** Boot times still inside the loop window: the record keeps only these. */
export function recentBoots(bootTimes: readonly number[], now: number, bootLoop: NodePolicy['bootLoop']): number[] {
  return bootTimes.filter((t) => t > now - bootLoop.within);
}

/** The boots that make a loop (at least `reboots` within the window), or null. */
export function bootLoop(bootTimes: readonly number[], now: number, policy: NodePolicy['bootLoop']): number[] | null {
  if (policy.reboots === 0) return null;
  const recent = recentBoots(bootTimes, now, policy);
  return recent.length >= policy.reboots ? recent : null;
}
