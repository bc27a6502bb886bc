/**
 * A swarm of simulated agents in one child process (forked by soak-swarm-client.ts): real MQTT
 * clients that speak the real protocol (the agent's own message code and the demo's fingerprints):
 * hello (QoS 1) on every connect, kernel → init → run state changes (QoS 1), heartbeats (QoS 0)
 * and a will. They reconnect forever, so the swarm outlives controller and broker restarts.
 * `kill` ends an agent abruptly (socket destroyed, no DISCONNECT): the broker sends its will.
 * Commands and replies travel over the fork IPC channel (see SwarmCommand / SwarmStats).
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { keepaliveSeconds } from '../agent/keepalive.js';
import { AgentMessages } from '../agent/messages.js';
import { simFingerprint } from '../controller/demo/sim-cluster.js';
import type { AgentPhase } from '../shared/protocol.js';
import { Topics } from '../shared/topics.js';

export interface SwarmStartOptions {
  /** A broker URL, or several separated by commas: an agent fails over through them round-robin, as a real one does. */
  url: string;
  /** Agent numbers first..first+count-1 (simFingerprint numbering, 1-65535). */
  first: number;
  count: number;
  heartbeatMs: number;
  /** Seconds in kernel and in init before the next state change; null: stay in `phase`. */
  bootS: [number, number] | null;
  phase: AgentPhase;
  /** Connects per second while starting (a discovery storm is bounded by the agents' boot spread). */
  connectRate: number;
  /** MQTT credentials when the controller requires them (the agent token). */
  username?: string;
  password?: string;
}

export type SwarmCommand =
  | { id: number; cmd: 'start'; opts: SwarmStartOptions }
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'kill'; agents: string[] }
  | { id: number; cmd: 'hang' | 'revive'; agents: string[] }
  | { id: number; cmd: 'stop' };

export interface SwarmStats {
  agents: number;
  connected: number;
  connects: number;
  hellosAcked: number;
  /** State changes (QoS 1) published, acknowledged by the broker, and failed. */
  statesSent: number;
  statesAcked: number;
  statesFailed: number;
  heartbeats: number;
  /** Agents that have reached `run` and reported it (acknowledged). */
  inRun: number;
  rssBytes: number;
}

const topics = new Topics();
const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

class SimAgent {
  readonly agentId: string;
  private readonly messages: AgentMessages;
  private client: MqttClient | null = null;
  private phase: AgentPhase;
  private heartbeat: NodeJS.Timeout | null = null;
  private timers: NodeJS.Timeout[] = [];
  runAcked = false;

  constructor(
    n: number,
    private readonly opts: SwarmStartOptions,
    private readonly stats: SwarmStats,
  ) {
    const fingerprint = simFingerprint(n);
    this.agentId = `mac-${fingerprint.bootMac!.replace(/:/g, '')}`;
    this.messages = new AgentMessages({ agentId: this.agentId, bootId: randomBytes(16).toString('hex'), agentVersion: 'soak', fingerprint }, { now: Date.now, uptime: () => Math.round(process.uptime()) });
    this.phase = opts.phase;
  }

  start(): void {
    const { opts, stats } = this;
    const [first, ...rest] = opts.url.split(',').map((u) => new URL(u));
    const client = mqtt.connect(first!.href, {
      // mqtt.js moves on to the next server at each reconnect.
      ...(rest.length ? { servers: [first!, ...rest].map((u) => ({ host: u.hostname, port: Number(u.port), protocol: u.protocol.slice(0, -1) as 'mqtt' })) } : {}),
      clientId: this.agentId,
      protocolVersion: 4,
      clean: true,
      keepalive: keepaliveSeconds(opts.heartbeatMs),
      // Spread reconnects after a controller restart like real agents' jittered backoff does.
      reconnectPeriod: Math.round(rand(500, 2500)),
      connectTimeout: 10_000,
      queueQoSZero: false,
      writeCache: false,
      ...(opts.username ? { username: opts.username, password: opts.password } : {}),
      will: { topic: topics.agent(this.agentId, 'status'), payload: Buffer.from(JSON.stringify(this.messages.status(false))), qos: 1, retain: false },
    });
    this.client = client;
    client.on('error', () => {}); // refused or reset connections just reconnect
    client.on('connect', () => {
      stats.connects++;
      client.publish(topics.agent(this.agentId, 'hello'), JSON.stringify(this.messages.hello(this.phase)), { qos: 1 }, (err) => {
        if (!err) stats.hellosAcked++;
      });
    });
    this.revive();
    if (opts.bootS) {
      const toInit = rand(...opts.bootS) * 1000;
      this.timers.push(setTimeout(() => this.setPhase('init'), toInit));
      this.timers.push(setTimeout(() => this.setPhase('run'), toInit + rand(...opts.bootS) * 1000));
    }
  }

  /** Heartbeats (again). */
  revive(): void {
    const { client, stats } = this;
    if (!client || this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      if (!client.connected) return;
      client.publish(topics.agent(this.agentId, 'heartbeat'), JSON.stringify(this.messages.heartbeat(this.phase)), { qos: 0 });
      stats.heartbeats++;
    }, this.opts.heartbeatMs);
  }

  /** A hung node: its agent says nothing more, while its connection stays up (mqtt.js keeps pinging), so no will comes. */
  hang(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** A phase change at QoS 1; mqtt.js keeps it queued across a reconnect until acknowledged. */
  private setPhase(phase: AgentPhase): void {
    this.phase = phase;
    const { stats } = this;
    stats.statesSent++;
    this.client!.publish(topics.agent(this.agentId, 'state'), JSON.stringify(this.messages.state(phase)), { qos: 1 }, (err) => {
      if (err) stats.statesFailed++;
      else {
        stats.statesAcked++;
        if (phase === 'run') this.runAcked = true;
      }
    });
  }

  /** Abrupt death: the socket goes away without DISCONNECT, so the broker publishes the will. */
  kill(): void {
    for (const t of this.timers) clearTimeout(t);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.client?.end(true);
    this.client = null;
  }

}

const stats: SwarmStats = { agents: 0, connected: 0, connects: 0, hellosAcked: 0, statesSent: 0, statesAcked: 0, statesFailed: 0, heartbeats: 0, inRun: 0, rssBytes: 0 };
const agents = new Map<string, SimAgent>();

function snapshot(): SwarmStats {
  let connected = 0;
  let inRun = 0;
  for (const a of agents.values()) {
    if (a.connected) connected++;
    if (a.runAcked) inRun++;
  }
  return { ...stats, agents: agents.size, connected, inRun, rssBytes: process.memoryUsage().rss };
}

async function startAgents(opts: SwarmStartOptions): Promise<string[]> {
  const ids: string[] = [];
  // In 10 ms ticks: the timer's granularity, and smooth enough for a connect storm.
  const perTick = Math.max(1, Math.round(opts.connectRate / 100));
  for (let i = 0; i < opts.count; i++) {
    const a = new SimAgent(opts.first + i, opts, stats);
    agents.set(a.agentId, a);
    ids.push(a.agentId);
    a.start();
    if (i % perTick === perTick - 1) await new Promise((r) => setTimeout(r, 10));
  }
  return ids;
}


async function handle(c: SwarmCommand): Promise<unknown> {
  switch (c.cmd) {
    case 'start':
      return startAgents(c.opts);
    case 'stats':
      return snapshot();
    case 'kill':
      return c.agents.filter((id) => {
        agents.get(id)?.kill();
        return agents.delete(id);
      }).length;
    case 'hang':
    case 'revive':
      return c.agents.filter((id) => {
        agents.get(id)?.[c.cmd]();
        return agents.has(id);
      }).length;
    case 'stop':
      for (const a of agents.values()) a.kill();
      setTimeout(() => process.exit(0), 50);
      return snapshot();
  }
}

process.on('message', (c: SwarmCommand) => {
  handle(c).then(
    (result) => process.send!({ id: c.id, ok: true, result }),
    (err: Error) => process.send!({ id: c.id, ok: false, error: err.message }),
  );
});
// The parent went away: so do we (no orphaned swarms holding thousands of sockets).
process.on('disconnect', () => process.exit(0));
