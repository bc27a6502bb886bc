// What the bench borrows from the real code base, bundled by bench/lib/protocol.mjs: the agent's
// own message builders and the demo's fingerprints (so simulated agents speak today's protocol),
// and the journal (for its append rate).
export { AgentMessages } from '../../agent/messages.js';
export { simFingerprint } from '../../controller/demo/sim-cluster.js';
export { Topics } from '../../shared/topics.js';
export { Journal } from '../../controller/store/journal.js';
