import type { PowerService } from '../../power/service.js';
import { ApiError, verb } from '../verb.js';

export function powerVerbs(power: PowerService) {
  return [
    verb('power', async ({ action, range, concurrency, staggerMs, timeoutMs, requestId }, ctx, { user }) => {
      const nodes = ctx.nodes.resolve(range);
      if (nodes.length === 0) throw new ApiError(`noderange "${range}" names no nodes`);
      const results = await power.run(action, nodes, { concurrency, staggerMs, timeoutMs, requestId, by: `admin ${user}` });
      return { action, results };
    }),
  ];
}
