import { z } from 'zod';
import { POWER_ACTIONS, type PowerAction } from '../../power/driver.js';
import type { PowerService } from '../../power/service.js';
import { verb } from '../verb.js';

export function powerVerbs(power: PowerService) {
  return [
    verb(
      'power',
      'power on|off|cycle|reset|status a noderange (xCAT rpower)',
      z.object({
        action: z.enum(POWER_ACTIONS as [PowerAction, ...PowerAction[]]),
        range: z.string().min(1),
        concurrency: z.number().int().min(1).max(1000).optional(),
        staggerMs: z.number().int().min(0).max(60_000).optional(),
        timeoutMs: z.number().int().min(100).max(600_000).optional(),
        requestId: z.string().max(64).optional(),
        by: z.string().max(128).optional(),
      }),
      async ({ action, range, concurrency, staggerMs, timeoutMs, requestId, by }, ctx) => {
        const nodes = ctx.nodes.resolve(range);
        const results = await power.run(action, nodes, { concurrency, staggerMs, timeoutMs, requestId, by: `admin ${by ?? 'cli'}` });
        return { action, results };
      },
    ),
  ];
}
