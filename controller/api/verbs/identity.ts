import type { Identification } from '../../identify/service.js';
import { journalAdminActions } from '../../store/action-journal.js';
import { ApiError, verb } from '../verb.js';

export function identityVerbs(identification: Identification) {
  return [
    verb('discovered', async () => identification.discovered()),
    verb('assign', async ({ agent, node, force }, ctx, { user }) => {
      const bound = await identification.assign(agent, node, force, user);
      journalAdminActions(ctx, [bound.node], 'assign', user, `agent ${bound.agentId}${force ? ' (--force)' : ''}`);
      return bound;
    }),
    verb('conflict-clear', async ({ node }, ctx, { user }) => {
      if (!ctx.nodes.get(node)) throw new ApiError(`node ${node} is not defined`);
      // A refused token re-introduction is decided the same way: the admin vouches for the machine.
      const cleared = ctx.nodeStates.conflict(node) ?? ctx.auth.reintroductions.refusedOn(node);
      if (!cleared) throw new ApiError(`node ${node} has no identity conflict and no refused re-introduction of its agent`);
      ctx.events.emit('conflict:cleared', { node, by: user, at: ctx.now() });
      return { node, cleared };
    }),
  ];
}
