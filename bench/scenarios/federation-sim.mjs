// Figure 9 (federation, simulated): 160,000 nodes on 3–16 controllers, one killed or cut off from
// the database, through muster's own ownership core (bench/lib/federation-sim.ts): how many nodes
// move, and how long they wait for a new owner.
import { loadProtocol } from '../lib/protocol.mjs';

export async function federationSimulation({ nodes, controllerCounts, trials, log }) {
  const { simulateFailover } = await loadProtocol();
  const runs = [];
  for (const controllers of controllerCounts) {
    for (const fault of ['kill', 'cutoff']) {
      const t0 = performance.now();
      const { trials: _perTrial, ...report } = simulateFailover({ nodes, controllers, fault, trials, seed: controllers * 2 + (fault === 'kill' ? 0 : 1) });
      log(`federation simulation: ${controllers} controllers, ${fault}: ${Math.round(performance.now() - t0)} ms`);
      runs.push({ controllers, fault, ...report });
    }
  }
  return { command: `simulateFailover × ${trials} trials per row (bench/lib/federation-sim.ts over controller/federation/)`, nodes, trials, runs };
}
