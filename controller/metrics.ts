import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AgentTopicKind } from '../shared/topics.js';

/** The controller's Prometheus metrics, one registry per controller (tests run several). */
export function createMetrics() {
  const registry = new Registry();
  // The event-loop lag histogram samples with a 10 ms native timer: 0.6 % of a core here (an idle
  // process, 20 s, with and without it). Kept: the histogram records the interval between samples,
  // so a coarser timer overstates every lag by up to its period (100 ms read 150-244 ms for one
  // 150 ms block), and the bench's storm figure is this metric.
  collectDefaultMetrics({ register: registry, prefix: 'muster_process_' });
  const metrics = {
    registry,
    messages: messageCounter(registry),
    rejected: new Counter({ name: 'muster_rejected_messages_total', help: 'Messages refused (bad topic, JSON, schema, size, authorisation), by reason class', labelNames: ['reason'], registers: [registry] }),
    requests: new Counter({ name: 'muster_requests_total', help: 'CLI/API requests, by verb and outcome', labelNames: ['verb', 'outcome'], registers: [registry] }),
    actions: new Counter({ name: 'muster_actions_total', help: 'Corrective and manual actions, by action and outcome', labelNames: ['action', 'outcome'], registers: [registry] }),
    writeErrors: new Counter({ name: 'muster_write_errors_total', help: 'Failed writes of the store or the journal (disk full, I/O error)', labelNames: ['file'], registers: [registry] }),
    storeWrite: new Histogram({ name: 'muster_store_write_seconds', help: 'Store file write latency', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
    nodes: new Gauge({ name: 'muster_nodes', help: 'Nodes by axis and value', labelNames: ['axis', 'value'], registers: [registry] }),
    listenerErrors: new Counter({ name: 'muster_listener_errors_total', help: 'Listeners that threw (in-process events by kind, MQTT subscriptions by topic filter); the other listeners still ran', labelNames: ['event'], registers: [registry] }),
    degraded: new Gauge({ name: 'muster_degraded', help: '1 while the store cannot be written (disk full…): changes are refused until a write succeeds', registers: [registry] }),
    newAgentsRefused: new Counter({ name: 'muster_new_agents_refused_total', help: 'Agent connections refused because their token introduced its limit of new agent ids this minute (limits.newAgentsPerTokenPerMinute)', registers: [registry] }),
    discoveredEvicted: new Counter({ name: 'muster_discovered_agents_evicted_total', help: 'Unbound agent records forgotten to keep at most limits.maxDiscoveredAgents (the one whose last hello is oldest first)', registers: [registry] }),
    brokerConnected: new Gauge({ name: 'muster_broker_connected', help: '1 while the controller is connected to the external broker (brokers:), 0 while it reconnects', labelNames: ['broker'], registers: [registry] }),
    agentSubscriptions: new Gauge({ name: 'muster_agent_subscriptions', help: "MQTT topic filters on agents' topics this controller holds on each broker: 1 (agents/+/+) alone; with federation on shared brokers, 3 for every agent's rare messages and 2 per agent of the nodes it owns", registers: [registry] }),
    powerInFlight: powerInFlight(registry),
    breaker: new Gauge({ name: 'muster_breaker_frozen', help: '1 when automatic actions of a group are frozen by the mass-silence breaker', labelNames: ['group'], registers: [registry] }),
  };
  return metrics;
}
export type Metrics = ReturnType<typeof createMetrics>;

/**
 * muster_messages_total. Counted per kind in plain numbers and folded into the counter when it is
 * read: a labelled inc() builds and looks up a label string per call, and this one runs for every
 * heartbeat (2,000 a second at 10k nodes, ~1 % of the controller's CPU there).
 */
function messageCounter(registry: Registry) {
  const pending: Record<AgentTopicKind, number> = { hello: 0, state: 0, heartbeat: 0, status: 0, credential: 0 };
  new Counter({
    name: 'muster_messages_total',
    help: 'Valid agent messages ingested, by kind',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const kind of Object.keys(pending) as AgentTopicKind[]) {
        if (pending[kind] > 0) this.inc({ kind }, pending[kind]);
        pending[kind] = 0;
      }
    },
  });
  return {
    count(kind: AgentTopicKind): void {
      pending[kind]++;
    },
  };
}

/**
 * Power driver calls running now, and the most at once since start: a scrape samples the first,
 * the second is exact, so "never more than the concurrency" can be checked after a fan-out.
 */
function powerInFlight(registry: Registry) {
  let now = 0;
  let most = 0;
  new Gauge({
    name: 'muster_power_calls_in_flight',
    help: 'Power driver calls running now (actions and status reads)',
    registers: [registry],
    collect() {
      this.set(now);
    },
  });
  new Gauge({
    name: 'muster_power_calls_in_flight_max',
    help: 'Most power driver calls running at once since the controller started',
    registers: [registry],
    collect() {
      this.set(most);
    },
  });
  return {
    started(): void {
      most = Math.max(most, ++now);
    },
    finished(): void {
      now--;
    },
  };
}
