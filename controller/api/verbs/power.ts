import type { PowerService } from '../../power/service.js';
import { verb } from '../verb.js';

export function powerVerbs(power: PowerService) {
  return [
    verb('power', async ({ action, range, concurrency, staggerMs, timeoutMs, requestId }, ctx, { user }) => {
      const nodes = ctx.nodes.resolve(range);
      const results = await power.run(action, nodes, { concurrency, staggerMs, timeoutMs, requestId, by: `admin ${user}`, user });
      return { action, results };
    }),
  ];
}
