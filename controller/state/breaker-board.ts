/** Every group's mass-silence breaker (see breaker.ts), fed by the machine's steps. */
import { evaluateBreaker, initialBreaker, isFrozen, notFrozen, resumedBreaker, type BreakerState, type Census, type Member } from './breaker.js';
import { formatDuration } from '../../shared/duration.js';
import type { GroupCache } from './group-cache.js';
import { bootExpected } from './ladder.js';
import type { Step } from './step.js';
import type { NodeRuntime } from './types.js';

/** What the breaker sees of a node: not counted, silent, or not silent. */
export function breakerView(rt: NodeRuntime): 'ignored' | 'silent' | 'up' {
  // Never-seen and admin-offline nodes say nothing about the group; nodes muster is
  // rebooting are silent because of muster.
  if (rt.admin === 'offline' || rt.bootId === null || bootExpected(rt)) return 'ignored';
  return rt.silentSince === null ? 'up' : 'silent';
}

export class BreakerBoard {
  private readonly breakers = new Map<string, BreakerState>();

  constructor(private readonly groups: GroupCache) {}

  /** Re-check the breakers of `groups`; returns the groups that recovered. */
  evaluate(step: Step, groups: Iterable<string>, graceUntil: number): string[] {
    if (step.now < graceUntil) return [];
    const recovered: string[] = [];
    for (const group of groups) {
      const policy = this.groups.policyOf([group]).breaker;
      const { state, change } = evaluateBreaker(this.breakers.get(group) ?? initialBreaker(), census(this.groups.members(group)), policy, step.now, graceUntil);
      this.breakers.set(group, state);
      if (change?.change === 'trip') {
        step.event('incident', null, `group ${group}: ${change.silent.length} of ${change.size} nodes went silent within ${formatDuration(policy.window)}; automatic actions frozen until it recovers or an admin runs \`muster policy resume ${group}\``, {
          group,
          state: 'frozen',
          silent: change.silent,
          size: change.size,
          threshold: policy.threshold,
          window: policy.window,
        });
      } else if (change?.change === 'recover') {
        step.event('incident', null, `group ${group} recovered (${change.silent.length} of ${change.size} silent): automatic actions resume in ${formatDuration(policy.window)}`, {
          group,
          state: 'recovered',
          silent: change.silent,
          size: change.size,
        });
        recovered.push(group);
      }
    }
    return recovered;
  }

  /** An admin's `policy resume GROUP`; throws when the group is not frozen. */
  resume(step: Step, group: string, who: string): void {
    if (!this.breakers.get(group)?.tripped) throw new Error(notFrozen(group, this.frozen().map((f) => f.group)));
    this.breakers.set(group, resumedBreaker(step.now));
    step.event('incident', null, `group ${group} resumed by ${who}: automatic actions allowed again`, { group, state: 'resumed', by: who });
  }

  /** Groups whose automatic actions the breaker has frozen. */
  frozen(): { group: string; since: number }[] {
    return [...this.breakers].filter(([, b]) => b.tripped).map(([group, b]) => ({ group, since: b.since }));
  }

  /** The node's groups whose breaker holds actions at `now` (tripped, or settling after recovery). */
  holding(node: string, now: number): string[] {
    return this.groups.groupsFor(node).filter((g) => {
      const breaker = this.breakers.get(g);
      return breaker !== undefined && isFrozen(breaker, now);
    });
  }

  /** When each breaker's settling after a recovery ends. */
  settleTimes(): number[] {
    return [...this.breakers.values()].map((b) => b.settleUntil);
  }

  /** Groups whose settling ended after `since`, up to `now`. */
  settledBetween(since: number, now: number): string[] {
    return [...this.breakers].filter(([, b]) => since < b.settleUntil && b.settleUntil <= now).map(([group]) => group);
  }
}

function census(members: readonly NodeRuntime[]): Census {
  let size = 0;
  const silent: Member[] = [];
  for (const rt of members) {
    const view = breakerView(rt);
    if (view === 'ignored') continue;
    size++;
    if (view === 'silent') silent.push({ node: rt.node, silentSince: rt.silentSince });
  }
  return { size, silent };
}
