import type { SimCluster } from '../../demo/sim-cluster.js';
import { ApiError, verb } from '../verb.js';

/** Rehearsal drills on the demo's simulated nodes; `demo` is null on a controller without `--demo`. */
export function demoVerbs(demo: SimCluster | null) {
  return [
    verb('demo', async ({ drill, node }, ctx, { user }) => {
      if (!demo) throw new ApiError(`demo ${drill}: this controller runs no simulated nodes (drills are for one started with muster controller --demo N)`, 'not-demo');
      demo.drill(node, drill);
      ctx.log.info({ node, drill, user }, 'demo drill');
      return { node, drill };
    }),
  ];
}
