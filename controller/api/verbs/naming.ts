import { expandNodeRange } from '../../../shared/noderange.js';
import { ApiError, verb } from '../verb.js';

/** xCAT-style sequential naming of discovered machines (`n[001-100]` in discovery order). */
export const namingVerbs = [
  verb('naming', async ({ enabled, pattern }, ctx) => {
    if (enabled === undefined && pattern === undefined) return ctx.store.data.naming;
    if (pattern !== undefined) {
      try {
        expandNodeRange(pattern, { nodes: [], groups: {} }, { allowUnknown: true });
      } catch (err) {
        throw new ApiError(`naming pattern: ${(err as Error).message}`);
      }
    }
    ctx.store.change((d) => {
      d.naming = { enabled: enabled ?? d.naming.enabled, pattern: pattern ?? d.naming.pattern };
    });
    ctx.nodes.changed([]); // the identification index holds the naming rule
    await ctx.store.flush();
    return ctx.store.data.naming;
  }),
];
