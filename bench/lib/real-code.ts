// What the bench borrows from the real code base, bundled by bench/lib/protocol.mjs: the agent's
// own message builders and the demo's fingerprints (so simulated agents speak today's protocol),
// the journal (for its append rate), and the dashboard's Chromium driver.
export { AgentMessages } from '../../agent/messages.js';
export { keepaliveSeconds } from '../../agent/keepalive.js';
export { simFingerprint } from '../../controller/demo/sim-cluster.js';
export { Topics } from '../../shared/topics.js';
export { Journal } from '../../controller/store/journal.js';
// The dashboard's 10,000-node figures: the same Chromium and page driver as test/dashboard.
export { launchChromium } from '../../test/dashboard/browser.js';
export { describeSyntheticFigures, measureSyntheticPage, timeModelSelect } from '../../test/dashboard/synthetic-figures.js';
// Federation failover at 160,000 nodes: a simulation over the real ownership core.
export { simulateFailover } from './federation-sim.js';
// The agent subscriptions a federated controller makes when it gains partitions, on real Mosquitto.
export { measureAgentSubscriptions } from './agent-subscriptions.js';
export { startPostgres } from '../../test/helpers/postgres-server.js';
export { ownerOf } from '../../controller/federation/rendezvous.js';
export { partitionOf } from '../../controller/federation/partitions.js';
