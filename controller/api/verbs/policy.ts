import type { StateManager } from '../../state/manager.js';
import { ApiError, verb } from '../verb.js';

export function policyVerbs(state: StateManager) {
  return [
    verb('policy-status', async () => ({ frozen: state.frozenGroups() })),
    verb('policy-resume', async ({ group }, _ctx, { user }) => {
      try {
        state.resume(group, user);
      } catch (err) {
        throw new ApiError((err as Error).message);
      }
      return { group, frozen: state.frozenGroups() };
    }),
  ];
}
