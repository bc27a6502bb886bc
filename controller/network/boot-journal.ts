/**
 * Which boot steps become journal lines (`muster history NODE --axis boot`). Pure: steps and times
 * in, transitions out. Each node has a budget of `burst` lines, refilled by one every `refillMs`,
 * so a machine in a boot loop cannot flood the journal: what is over budget is counted and said
 * on the next line that is written.
 */
import type { Transition } from '../../shared/protocol.js';
import type { BootStep } from './dnsmasq-log.js';

export interface BootJournalBudget {
  /** Lines a node may write at once: a few whole boots (a PXE boot through iPXE is ~12 steps). */
  burst: number;
  /** One more line allowed per this many ms: a boot loop keeps a few lines a minute. */
  refillMs: number;
}

export const DEFAULT_BOOT_JOURNAL_BUDGET: BootJournalBudget = { burst: 40, refillMs: 15_000 };

interface NodeBudget {
  tokens: number;
  at: number;
  dropped: number;
  lastStep: string | null;
}

export class BootJournal {
  private readonly nodes = new Map<string, NodeBudget>();

  constructor(private readonly budget: BootJournalBudget = DEFAULT_BOOT_JOURNAL_BUDGET) {}

  /** The journal line for this step of `node`, or null when the node is over its budget. */
  record(node: string, step: BootStep, now: number): Transition | null {
    const b = this.nodes.get(node) ?? { tokens: this.budget.burst, at: now, dropped: 0, lastStep: null };
    this.nodes.set(node, b);
    b.tokens = Math.min(this.budget.burst, b.tokens + Math.max(0, now - b.at) / this.budget.refillMs);
    b.at = now;
    if (b.tokens < 1) {
      b.dropped++;
      return null;
    }
    b.tokens--;
    const dropped = b.dropped ? ` (${b.dropped} boot step${b.dropped === 1 ? '' : 's'} before this one not journalled: booting too often)` : '';
    const t: Transition = { node, axis: 'boot', from: b.lastStep, to: step.step, cause: `${step.message}${dropped}`, at: now };
    b.dropped = 0;
    b.lastStep = step.step;
    return t;
  }

  /** Forgets nodes that are gone (undefined), so the map holds only defined nodes. */
  retain(isNode: (node: string) => boolean): void {
    for (const node of this.nodes.keys()) if (!isNode(node)) this.nodes.delete(node);
  }
}
