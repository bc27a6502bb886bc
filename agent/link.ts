/**
 * The agent's MQTT session: hello on every connect, state on phase changes, heartbeats, a will,
 * reconnects with backoff through its list of brokers (BrokerRotation), and the secret the
 * controller issues it (stored, confirmed, then sent on every connect). mqtt.js' client class is
 * imported from its internals with our own TCP stream: `import mqtt from 'mqtt'` would bundle
 * WebSocket/TLS/SOCKS transports too.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import type { IClientOptions } from 'mqtt';
import mqttClientModule from 'mqtt/lib/client';
import type { AgentPhase, Fingerprint } from '../shared/protocol.js';
import { Topics } from '../shared/topics.js';
import { isAgentSecret } from '../shared/wire.js';
import type { BackoffOptions } from '../shared/backoff.js';
import { BrokerRotation } from './broker-rotation.js';
import type { ControllerAddress } from './controller-url.js';
import type { AgentMessages } from './messages.js';
import { keepaliveSeconds } from './keepalive.js';

// Node's CommonJS interop gives the module object (class on `.default`); vitest's gives the class.
const MqttClient = (mqttClientModule as unknown as { default?: typeof mqttClientModule.default }).default ?? (mqttClientModule as unknown as typeof mqttClientModule.default);
type MqttClient = InstanceType<typeof MqttClient>;

export interface LinkOptions {
  /** The brokers to reach the controller through, tried in this order (one is a list of one). */
  controllers: readonly ControllerAddress[];
  messages: AgentMessages;
  phase: AgentPhase;
  heartbeatMs: number;
  /** The MQTT keepalive is derived from this (by default heartbeatMs): how soon a frozen agent is noticed. */
  livenessMs?: number;
  /** Sent as the MQTT password with username = agent id; never logged. */
  token?: string | null;
  /** The agent's own secret from an earlier session, sent before the token; never logged. */
  secret?: string | null;
  /** Stores a secret the controller issued; the agent confirms it once this returned. */
  onSecret?: (secret: string) => void;
  /** PEM CA to pin for mqtts:// (else the system's CAs). */
  ca?: Buffer | null;
  topics?: Topics;
  log: (line: string) => void;
  random?: () => number;
}

const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Reconnect delays: from 0.5 s doubling to 30 s, each between half and all of its step (3/4 of it
 * ± a third); with several brokers the step grows once per round through the list.
 */
export const RECONNECT_BACKOFF: BackoffOptions = { initialMs: 375, maxMs: 22_500, factor: 2, jitter: 1 / 3 };

/**
 * The MQTT password: the agent's own secret and the bootstrap token, separated by a space. The
 * controller takes the secret when it knows it, else the token (a new agent, or one whose secret
 * is gone: the controller's store was replaced, or it issued a newer one); null: neither.
 */
export function agentPassword(secret: string | null | undefined, token: string | null | undefined): string | null {
  return [secret, token].filter(Boolean).join(' ') || null;
}

/** Connection options shared by the long-lived session and a one-shot publish. */
function clientOptions(agentId: string, password: string | null, extra: IClientOptions): IClientOptions {
  return {
    clientId: agentId,
    protocolVersion: 4,
    clean: true,
    // mqtt-packet otherwise pre-allocates 65,536 buffers at start-up.
    writeCache: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    ...(password ? { username: agentId, password } : {}),
    ...extra,
  };
}

/** The stream builder: plain TCP, or TLS verified against `ca` (a wrong CA fails the handshake). */
function streamTo(controller: ControllerAddress, ca: Buffer | null | undefined) {
  if (!controller.tls) return () => net.createConnection({ host: controller.host, port: controller.port, noDelay: true });
  // Loaded here, not imported: node:tls costs ~3 ms of every start, and only mqtts:// needs it.
  // createRequire works the same in the CommonJS agent bundle and the ES-module controller.
  const tls = createRequire('/')('node:tls') as typeof import('node:tls');
  return () => tls.connect({ host: controller.host, port: controller.port, ...(ca ? { ca } : {}) }).setNoDelay(true);
}

export class AgentLink {
  private client: MqttClient | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly rotation: BrokerRotation;
  /** Whether the connection that just closed had been up (a loss, not a failed attempt). */
  private wasConnected = false;
  private stopping = false;
  private phase: AgentPhase;
  private readonly topics: Topics;
  private readonly agentId: string;
  private secret: string | null;
  private settleFirstAttempt: () => void = () => {};
  /** Resolves once the first connection attempt has ended either way: hello sent, or refused/closed. */
  readonly firstAttempt = new Promise<void>((resolve) => (this.settleFirstAttempt = resolve));

  constructor(private readonly opts: LinkOptions) {
    this.phase = opts.phase;
    this.topics = opts.topics ?? new Topics();
    this.agentId = opts.messages.facts.agentId;
    this.secret = opts.secret ?? null;
    this.rotation = new BrokerRotation(opts.controllers.length, RECONNECT_BACKOFF, opts.random);
  }

  /** The broker connected to, or being tried. */
  private get broker(): ControllerAddress {
    return this.opts.controllers[this.rotation.current]!;
  }

  get currentPhase(): AgentPhase {
    return this.phase;
  }

  start(): void {
    const { messages, heartbeatMs, token } = this.opts;
    const client = new MqttClient(
      // Called again on every reconnect: the broker the rotation picked.
      () => streamTo(this.broker, this.opts.ca)(),
      clientOptions(this.agentId, agentPassword(this.secret, token), {
        keepalive: keepaliveSeconds(this.opts.livenessMs ?? heartbeatMs),
        // Reconnects are ours (exponential backoff); a heartbeat that cannot be sent is dropped.
        reconnectPeriod: 0,
        queueQoSZero: false,
        will: { topic: this.topics.agent(this.agentId, 'status'), payload: this.will(), qos: 1, retain: false },
      }),
    );
    this.client = client;
    const credentialTopic = this.topics.credential(this.agentId);
    client.on('connect', () => {
      this.rotation.connected();
      this.wasConnected = true;
      // Listening before the hello: a secret is issued in answer to it. A broker that refuses the
      // subscription (one that issues none) still gets the hello.
      client.subscribe(credentialTopic, { qos: 1 }, () => {
        this.publish('hello', messages.hello(this.phase), 1);
        this.opts.log(`connected to ${this.broker.display}, hello sent as ${this.agentId} (boot ${messages.facts.bootId}, phase ${this.phase})`);
        this.settleFirstAttempt();
      });
    });
    client.on('message', (topic, payload) => {
      if (topic === credentialTopic) this.storeSecret(payload);
    });
    client.on('error', (err) => this.opts.log(`connection to ${this.broker.display} failed: ${err.message}`));
    client.on('close', () => {
      this.settleFirstAttempt();
      this.scheduleReconnect();
    });
    this.heartbeatTimer = setInterval(() => {
      if (client.connected) this.publish('heartbeat', messages.heartbeat(this.phase), 0);
    }, heartbeatMs);
  }

  /** Records a new phase and reports it; while offline, the next hello carries it instead. */
  setPhase(phase: AgentPhase): void {
    this.phase = phase;
    if (this.client?.connected) {
      this.publish('state', this.opts.messages.state(phase), 1);
      this.opts.log(`phase ${phase}, state sent`);
    } else {
      this.opts.log(`phase ${phase} (offline: the next hello reports it)`);
    }
  }

  /**
   * A fingerprint learnt after the hello (LLDP neighbours heard since): a new hello carries it now,
   * or, while offline, the next connect's. `what` says what changed, for the log.
   */
  updateFingerprint(fingerprint: Fingerprint, what: string): void {
    this.opts.messages.facts.fingerprint = fingerprint;
    if (this.client?.connected) {
      this.publish('hello', this.opts.messages.hello(this.phase), 1);
      this.opts.log(`${what}: hello sent again`);
    } else {
      this.opts.log(`${what} (offline: the next hello reports it)`);
    }
  }

  /** Says goodbye (status online:false) when connected, then closes the session cleanly. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await client
        .publishAsync(this.topics.agent(this.agentId, 'status'), JSON.stringify(this.opts.messages.status(false)), { qos: 1 })
        .catch((err: Error) => this.opts.log(`could not send status offline: ${err.message}`));
    }
    await client.endAsync();
  }

  /** Sends no more heartbeats, the connection kept open: a machine that hung (the demo's drills). */
  hang(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /** Drops the connection without a goodbye, as a machine that lost power: the broker sends the will. No reconnect. */
  die(): void {
    this.stopping = true;
    this.hang();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.client?.end(true);
  }

  /** A secret from the controller: stored, used from the next connect on, and confirmed. */
  private storeSecret(payload: Buffer): void {
    let message: { agentId?: unknown; secret?: unknown };
    try {
      message = JSON.parse(payload.toString('utf8')) as typeof message;
    } catch {
      return this.opts.log('ignored a credential message that is not JSON');
    }
    if (message.agentId !== this.agentId || !isAgentSecret(message.secret)) return this.opts.log('ignored a credential message without a secret for this agent');
    this.secret = message.secret;
    this.opts.onSecret?.(message.secret);
    if (this.client) this.client.options.password = agentPassword(this.secret, this.opts.token) ?? undefined;
    this.publish('credential', this.opts.messages.credentialStored(secretHash(message.secret)), 1);
    this.opts.log('own secret received and stored: the controller now expects it');
  }

  private publish(kind: 'hello' | 'state' | 'heartbeat' | 'credential', payload: object, qos: 0 | 1): void {
    this.client?.publish(this.topics.agent(this.agentId, kind), JSON.stringify(payload), { qos }, (err) => {
      if (err) this.opts.log(`${kind} not delivered: ${err.message}`);
    });
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.reconnectTimer) return;
    const lost = this.broker;
    const what = this.wasConnected ? `disconnected from ${lost.display}` : `cannot reach ${lost.display}`;
    this.wasConnected = false;
    const { delayMs: delay } = this.rotation.next();
    const next = this.broker;
    this.opts.log(`${what}; ${next === lost ? 'reconnecting' : `failing over to ${next.display}`} in ${(delay / 1000).toFixed(1)} s`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stopping || !this.client) return;
      this.opts.messages.nextConnection();
      if (this.client.options.will) this.client.options.will.payload = this.will();
      this.client.reconnect();
    }, delay);
  }

  /** The will for the connection about to be made: it carries that connection's number. */
  private will(): Buffer {
    return Buffer.from(JSON.stringify(this.opts.messages.status(false)));
  }
}

/**
 * Connects without a will, publishes one message with QoS 1 and disconnects (for `phase` when no
 * agent runs), through the first broker of the list that takes it. Returns that broker.
 */
export async function publishOnce(
  controllers: readonly ControllerAddress[],
  agentId: string,
  password: string | null,
  topic: string,
  payload: object,
  ca?: Buffer | null,
): Promise<ControllerAddress> {
  const failures: string[] = [];
  for (const controller of controllers) {
    try {
      await publishThrough(controller, agentId, password, topic, payload, ca);
      return controller;
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  throw new Error(failures.join('; '));
}

async function publishThrough(controller: ControllerAddress, agentId: string, password: string | null, topic: string, payload: object, ca: Buffer | null | undefined): Promise<void> {
  const client = new MqttClient(streamTo(controller, ca), clientOptions(agentId, password, { reconnectPeriod: 0 }));
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed before CONNACK')));
    });
    await client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
  } catch (err) {
    throw new Error(`cannot publish to ${controller.display}: ${(err as Error).message}`);
  } finally {
    await client.endAsync(true);
  }
}

/** `sha256:<hex>` of a secret, as the controller stores it. node:crypto is loaded here: only a secret's arrival needs it. */
export function secretHash(secret: string): string {
  const { createHash } = createRequire('/')('node:crypto') as typeof import('node:crypto');
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}
