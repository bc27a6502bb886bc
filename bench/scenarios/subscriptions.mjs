// Figure 10 (federation): how long a controller takes to subscribe the agents of the partitions it
// gains, on real Mosquitto brokers (bench/lib/agent-subscriptions.ts over controller/bus/).
import { loadProtocol } from '../lib/protocol.mjs';

export async function agentSubscriptions({ agents, brokerCounts, log }) {
  const { measureAgentSubscriptions } = await loadProtocol();
  const runs = [];
  for (const brokers of brokerCounts) {
    log(`subscriptions: ${agents} agents on ${brokers} Mosquitto broker(s)`);
    runs.push(await measureAgentSubscriptions({ agents, brokers }));
  }
  return { command: 'measureAgentSubscriptions (bench/lib/agent-subscriptions.ts: BrokerSetBus.filterGroup on Mosquitto started by the bench)', runs };
}
