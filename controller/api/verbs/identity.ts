import type { Identification } from '../../identify/service.js';
import { verb } from '../verb.js';

export function identityVerbs(identification: Identification) {
  return [verb('discovered', async () => identification.discovered()), verb('assign', async ({ agent, node, force }) => identification.assign(agent, node, force))];
}
