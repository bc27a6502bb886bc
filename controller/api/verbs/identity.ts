import { z } from 'zod';
import type { Identification } from '../../identify/service.js';
import { NodeName } from '../../../shared/protocol.js';
import { verb } from '../verb.js';

export function identityVerbs(identification: Identification) {
  return [
    verb('discovered', 'agents that said hello but are not bound to a node', z.object({}), async () => identification.discovered()),
    verb(
      'assign',
      'bind an agent (by id or MAC) to a node name',
      z.object({ agent: z.string().min(1).max(128), node: NodeName, force: z.boolean().default(false) }),
      async ({ agent, node, force }) => identification.assign(agent, node, force),
    ),
  ];
}
