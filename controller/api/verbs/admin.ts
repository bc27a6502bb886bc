import { ApiError, verb } from '../verb.js';

/** Slurm-style drain and return to service: offline always carries a reason. */
export const adminVerbs = [
  verb('offline', async ({ range, reason }, ctx, { user }) => {
    const nodes = ctx.nodes.resolve(range);
    if (nodes.length === 0) throw new ApiError(`noderange "${range}" names no nodes`);
    ctx.state.setAdmin(nodes, 'offline', reason, user);
    await ctx.store.flush();
    return { nodes };
  }),
  verb('online', async ({ range }, ctx, { user }) => {
    const nodes = ctx.nodes.resolve(range);
    if (nodes.length === 0) throw new ApiError(`noderange "${range}" names no nodes`);
    ctx.state.setAdmin(nodes, 'online', null, user);
    await ctx.store.flush();
    return { nodes };
  }),
];
