/**
 * A controller in this process with the default (secure) auth settings, its first admin's
 * password, and users of every role made through the real `user-add` verb.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { generate } from 'mqtt-packet';
import { ControllerClient } from '../../cli/client.js';
import { hashPassword } from '../../controller/auth/passwords.js';
import { ControllerConfig } from '../../controller/config.js';
import { startController, type RunningController } from '../../controller/controller.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { createLogger } from '../../controller/log.js';
import { afterAll, beforeAll } from 'vitest';
import type { z } from 'zod';
import { tempDir } from '../helpers/tmp.js';

export interface SecureController {
  running: RunningController;
  dataDir: string;
  adminPassword: string;
  /** An admin's CLI connection. */
  admin: ControllerClient;
  /** Logs in as `name` (password `name-password`, made by addUser). */
  login(name: string, clientId?: string): Promise<ControllerClient>;
  addUser(name: string, role: 'viewer' | 'operator' | 'admin'): Promise<void>;
  stop(): Promise<void>;
}

export const passwordOf = (name: string) => `${name}-password`;

/** The config as a file would give it (nested sections partial, defaults filled in). */
export type SecureConfig = Partial<z.input<typeof ControllerConfig>>;

/** `steady`: the controller's steady clock (a test's fast-forwarded one). */
export async function startSecureController(config: SecureConfig = {}, opts: { ca?: Buffer; now?: () => number; steady?: () => number } = {}): Promise<SecureController> {
  const tmp = tempDir('muster-security-');
  const cfg = ControllerConfig.parse({ dataDir: tmp.dir, host: '127.0.0.1', mqttPort: 0, wsPort: null, httpPort: null, admin: { host: '127.0.0.1', port: null, tls: null }, storeDebounceMs: 20, ...config });
  const running = await startController(cfg, { log: createLogger({ level: process.env.MUSTER_LOG_LEVEL ?? 'silent', pretty: false }), extensions: defaultExtensions, now: opts.now, steady: opts.steady });
  const adminPassword = readFileSync(join(tmp.dir, 'admin-password'), 'utf8').trim();
  const clients: ControllerClient[] = [];
  const connect = async (username: string, password: string) => {
    const c = await ControllerClient.connect({ url: running.mqttUrl, username, password, ca: opts.ca, timeoutMs: 10_000 });
    clients.push(c);
    return c;
  };
  const admin = await connect('admin', adminPassword);
  return {
    running,
    dataDir: tmp.dir,
    adminPassword,
    admin,
    login: (name) => connect(name, passwordOf(name)),
    async addUser(name, role) {
      await admin.request('user-add', { name, role, passwordHash: await hashPassword(passwordOf(name)) });
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      await running.stop();
      tmp.remove();
    },
  };
}

/** Adds netboot image `name` (small kernel and initrd files in DATA/images) through the real `image-add` verb. */
export async function addImage(c: SecureController, name: string, cmdline = 'console=ttyS0'): Promise<void> {
  const dir = join(c.dataDir, 'images');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}-vmlinuz`), Buffer.alloc(4096, 1));
  writeFileSync(join(dir, `${name}-initrd.img`), Buffer.alloc(4096, 2));
  await c.admin.request('image-add', { name, kernel: join(dir, `${name}-vmlinuz`), initrd: join(dir, `${name}-initrd.img`), cmdline });
}

/** A controller for one test file: started with `users` before its tests, stopped after; read it through the getter. */
export function secureControllerForFile(users: Array<[string, 'viewer' | 'operator' | 'admin']>, config: SecureConfig = {}): () => SecureController {
  let c: SecureController | undefined;
  beforeAll(async () => {
    c = await startSecureController(config);
    for (const [name, role] of users) await c.addUser(name, role);
  });
  afterAll(async () => {
    await c?.stop();
  });
  return () => c!;
}

/** A raw MQTT connection (the forbidden things are tried with these). Rejects when CONNACK refuses. */
export async function rawConnect(url: string, opts: IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
}

/** Resolves true when the broker closes `client` within `ms`. */
export async function closedWithin(client: MqttClient, ms: number): Promise<boolean> {
  if (!client.connected) return true;
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([new Promise<boolean>((r) => client.once('close', () => r(true))), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return closed;
}

/** The granted QoS of one subscription: 128 means refused. */
export function grantedQos(client: MqttClient, filter: string): Promise<number> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, { qos: 0 }, (err, granted) => {
      // mqtt.js reports a refused filter as an error carrying the SUBACK packet.
      const code = (err as { packet?: { granted?: number[] } } | undefined)?.packet?.granted?.[0];
      if (typeof code === 'number') return resolve(code);
      if (!err && granted?.[0]) return resolve(granted[0].qos);
      reject(err ?? new Error(`no SUBACK for ${filter}`));
    });
  });
}

/** A bare TCP connection to the broker on 127.0.0.1, optionally from another loopback address (another "source"). */
export function rawSocket(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

export const closed = (s: net.Socket) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

/** Sends an MQTT 3.1.1 CONNECT on `s` and resolves the CONNACK's return code (0: accepted). */
export function connackCode(s: net.Socket, username: string, password: string, clientId = `muster-cli-${Math.random().toString(16).slice(2)}`): Promise<number> {
  s.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 0, username, password: Buffer.from(password) }));
  return new Promise((resolve) => s.once('data', (d: Buffer) => resolve(d[3]!)));
}
