import { z } from 'zod';
import { notFrozen } from '../../state/breaker.js';
import { ApiError, verb } from '../verb.js';

export function policyVerbs() {
  return [
    verb('policy-status', 'groups frozen by the mass-silence breaker', z.object({}), async (_a, ctx) => ({ frozen: ctx.nodeStates.frozenGroups() })),
    verb('policy-resume', 'resume automatic actions of a group frozen by the breaker', z.object({ group: z.string().min(1).max(63), by: z.string().max(128).optional() }), async ({ group, by }, ctx) => {
      const frozen = ctx.nodeStates.frozenGroups().map((f) => f.group);
      if (!frozen.includes(group)) throw new ApiError(notFrozen(group, frozen));
      ctx.events.emit('policy:resume', { group, by: by ?? 'admin', at: ctx.now() });
      return { group, frozen: ctx.nodeStates.frozenGroups() };
    }),
  ];
}
