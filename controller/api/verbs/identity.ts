import type { Identification } from '../../identify/service.js';
import { ApiError, verb } from '../verb.js';

export function identityVerbs(identification: Identification) {
  return [
    verb('discovered', async () => identification.discovered()),
    verb('assign', async ({ agent, node, force }, _ctx, { user }) => identification.assign(agent, node, force, user)),
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
