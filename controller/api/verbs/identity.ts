import type { Identification } from '../../identify/service.js';
import { ApiError, verb } from '../verb.js';

export function identityVerbs(identification: Identification) {
  return [
    verb('discovered', async () => identification.discovered()),
    verb('assign', async ({ agent, node, force }, _ctx, { user }) => identification.assign(agent, node, force, user)),
    verb('conflict-clear', async ({ node }, ctx, { user }) => {
      if (!ctx.nodes.get(node)) throw new ApiError(`node ${node} is not defined`);
      const cleared = ctx.nodeStates.conflict(node);
      if (!cleared) throw new ApiError(`node ${node} has no identity conflict`);
      ctx.events.emit('conflict:cleared', { node, by: user, at: ctx.now() });
      return { node, cleared };
    }),
  ];
}
