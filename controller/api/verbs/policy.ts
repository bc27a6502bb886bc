import { notFrozen } from '../../state/breaker.js';
import { ApiError, verb } from '../verb.js';

export function policyVerbs() {
  return [
    verb('policy-status', async (_a, ctx) => ({ frozen: ctx.nodeStates.frozenGroups() })),
    verb('policy-resume', async ({ group }, ctx, { user }) => {
      const frozen = ctx.nodeStates.frozenGroups().map((f) => f.group);
      if (!frozen.includes(group)) throw new ApiError(notFrozen(group, frozen));
      ctx.events.emit('policy:resume', { group, by: user, at: ctx.now() });
      return { group, frozen: ctx.nodeStates.frozenGroups() };
    }),
  ];
}
