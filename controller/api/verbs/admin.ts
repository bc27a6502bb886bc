import { journalAdminActions } from '../../store/action-journal.js';
import { verb } from '../verb.js';

/** Slurm-style drain and return to service: offline always carries a reason. */
export const adminVerbs = [
  verb('offline', async ({ range, reason }, ctx, { user }) => {
    const nodes = ctx.nodes.resolve(range);
    ctx.ownership?.requireOwned(nodes, 'offline');
    journalAdminActions(ctx, nodes, 'offline', user, reason);
    ctx.events.emit('admin:requested', { nodes, admin: 'offline', reason, by: user, at: ctx.now() });
    await ctx.store.flush();
    return { nodes };
  }),
  verb('online', async ({ range }, ctx, { user }) => {
    const nodes = ctx.nodes.resolve(range);
    ctx.ownership?.requireOwned(nodes, 'online');
    journalAdminActions(ctx, nodes, 'online', user, 'back in service');
    ctx.events.emit('admin:requested', { nodes, admin: 'online', by: user, at: ctx.now() });
    await ctx.store.flush();
    return { nodes };
  }),
];
