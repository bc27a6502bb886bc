import { z } from 'zod';
import { verb } from '../verb.js';

/** Slurm-style drain and return to service: offline always carries a reason. */
export const adminVerbs = [
  verb('offline', 'take nodes out of automatic correction, with a reason', z.object({ range: z.string(), reason: z.string().trim().min(1, 'a reason is required').max(1024), by: z.string().max(128).optional() }), async ({ range, reason, by }, ctx) => {
    const nodes = ctx.nodes.resolve(range);
    ctx.events.emit('admin:requested', { nodes, admin: 'offline', reason, by: by ?? 'admin', at: ctx.now() });
    await ctx.store.flush();
    return { nodes };
  }),
  verb('online', 'return nodes to service', z.object({ range: z.string(), by: z.string().max(128).optional() }), async ({ range, by }, ctx) => {
    const nodes = ctx.nodes.resolve(range);
    ctx.events.emit('admin:requested', { nodes, admin: 'online', by: by ?? 'admin', at: ctx.now() });
    await ctx.store.flush();
    return { nodes };
  }),
];
