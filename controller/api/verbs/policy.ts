import { z } from 'zod';
import type { StateManager } from '../../state/manager.js';
import { ApiError, verb } from '../verb.js';

export function policyVerbs(state: StateManager) {
  return [
    verb('policy-status', 'groups frozen by the mass-silence breaker', z.object({}), async () => ({ frozen: state.frozenGroups() })),
    verb('policy-resume', 'resume automatic actions of a group frozen by the breaker', z.object({ group: z.string().min(1).max(63), by: z.string().max(128).optional() }), async ({ group, by }) => {
      try {
        state.resume(group, by ?? 'admin');
      } catch (err) {
        throw new ApiError((err as Error).message);
      }
      return { group, frozen: state.frozenGroups() };
    }),
  ];
}
