/**
 * Authentication and authorisation against a real controller over real MQTT connections: every
 * forbidden connect, publish and subscribe is tried and seen refused; the allowed ones pass.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { closedWithin, grantedQos, passwordOf, rawConnect, startSecureController, type SecureController } from './secure-controller.js';
import { AgentLink } from '../../agent/link.js';
import { parseControllerUrl } from '../../agent/controller-url.js';
import { AgentMessages } from '../../agent/messages.js';
import type { VerbArgs, VerbName } from '../../shared/verbs/catalog.js';

let c: SecureController;
let url: string;
let token: string;
const agentId = 'mac-0200000000a1';
const open: MqttClient[] = [];

beforeAll(async () => {
  c = await startSecureController();
  url = c.running.mqttUrl;
  await c.addUser('vera', 'viewer');
  await c.addUser('otto', 'operator');
  await c.addUser('ada', 'admin');
  token = (await c.admin.request('token-create', { note: 'test' })).token;
  await c.admin.request('define', { range: 'n1', settings: [] });
});
afterAll(async () => {
  for (const m of open) m.end(true);
  await c?.stop();
});

const connectAs = async (who: 'agent' | 'vera' | 'otto' | 'ada', clientId = who === 'agent' ? agentId : `muster-cli-${who}-${Math.random().toString(16).slice(2, 10)}`) => {
  const m = await rawConnect(url, who === 'agent' ? { clientId, username: agentId, password: token } : { clientId, username: who, password: passwordOf(who) });
  open.push(m);
  return m;
};

const refusal = async (opts: Parameters<typeof rawConnect>[1]) => {
  try {
    const m = await rawConnect(url, opts);
    m.end(true);
    return null;
  } catch (err) {
    return (err as { code?: number }).code ?? (err as Error).message;
  }
};

describe('authentication', () => {
  it('writes the first admin password once, mode 0600, and the store stays 0600', () => {
    expect(statSync(join(c.dataDir, 'admin-password')).mode & 0o777).toBe(0o600);
    expect(statSync(join(c.dataDir, 'store.json')).mode & 0o777).toBe(0o600);
  });

  it('refuses clients without, or with wrong, credentials', async () => {
    expect(await refusal({ clientId: 'muster-cli-anon' })).toBe(5);
    expect(await refusal({ clientId: 'muster-cli-x', username: 'vera', password: 'wrong-password' })).toBe(4);
    expect(await refusal({ clientId: 'muster-cli-x', username: 'nobody', password: 'whatever1' })).toBe(4);
    expect(await refusal({ clientId: agentId })).toBe(5);
    expect(await refusal({ clientId: agentId, username: agentId, password: 'mt1.not-a-real-token' })).toBe(4);
    expect(await refusal({ clientId: agentId, username: 'mac-0200000000ff', password: token })).toBe(4);
    // A user cannot pose as an agent: an agent-shaped client id is authenticated as an agent.
    expect(await refusal({ clientId: agentId, username: 'ada', password: passwordOf('ada') })).toBe(4);
  });

  it('lets nobody take over a connected client id of someone else', async () => {
    const ada = await connectAs('ada');
    expect(await refusal({ clientId: ada.options.clientId, username: 'vera', password: passwordOf('vera') })).toBe(5);
    expect(ada.connected).toBe(true);
  });

  it('lets an agent with a token in, and refuses it once the token is revoked', async () => {
    const { link } = simAgentWithToken(url, 'mac-0200000000a2', token);
    await waitFor(async () => (await c.admin.request('discovered')).some((d) => d.agentId === 'mac-0200000000a2'));
    await link.stop();
    const list = await c.admin.request('token-list');
    const id = list.find((t) => t.source === 'store')!.id;
    const fresh = (await c.admin.request('token-create', {})).token;
    await c.admin.request('token-revoke', { id });
    expect(await refusal({ clientId: agentId, username: agentId, password: token })).toBe(4);
    token = fresh;
    expect(await refusal({ clientId: agentId, username: agentId, password: token })).toBeNull();
  });

  it('refuses an anonymous agent unless the site allows them', async () => {
    const lines: string[] = [];
    const { link } = simAgentWithToken(url, 'mac-0200000000a3', null, (l) => lines.push(l));
    await waitFor(async () => lines.some((l) => /Not authorized/i.test(l)));
    await link.stop();
    expect((await c.admin.request('discovered')).some((d) => d.agentId === 'mac-0200000000a3')).toBe(false);
  });
});

const P = 'muster';
const hello = () => JSON.stringify({ v: 1 });

describe('publish rules: each forbidden publish closes the connection', () => {
  const forbidden: Record<'agent' | 'vera' | 'otto' | 'ada', string[]> = {
    agent: [`${P}/agents/mac-0200000000ff/hello`, `${P}/nodes/n1/state`, `${P}/events/assigned`, `${P}/response/muster-cli-x`, `${P}/consoles/n1/out`, `${P}/consoles/n1/in`, `${P}/request/nodes`, '$SYS/x', 'other/topic'],
    vera: [`${P}/agents/${agentId}/hello`, `${P}/nodes/n1/state`, `${P}/events/assigned`, `${P}/response/muster-cli-x`, `${P}/consoles/n1/out`, `${P}/consoles/n1/in`, '$SYS/x'],
    otto: [`${P}/agents/${agentId}/hello`, `${P}/nodes/n1/state`, `${P}/events/transition`, `${P}/response/muster-cli-x`, `${P}/consoles/n1/out`, '$SYS/x'],
    ada: [`${P}/agents/${agentId}/hello`, `${P}/nodes/n1/state`, `${P}/events/transition`, `${P}/response/muster-cli-x`, `${P}/consoles/n1/out`, '$SYS/x'],
  };
  for (const [who, topics] of Object.entries(forbidden) as Array<[keyof typeof forbidden, string[]]>) {
    it(`${who}: ${topics.length} forbidden topics`, async () => {
      for (const topic of topics) {
        const m = await connectAs(who);
        m.publish(topic, hello(), { qos: 1 });
        expect(await closedWithin(m, 3000), `${who} → ${topic}`).toBe(true);
      }
    });
  }

  it('closes a client that names another client as replyTo', async () => {
    const m = await connectAs('ada');
    m.publish(`${P}/request/nodes`, JSON.stringify({ v: 1, id: '1', replyTo: 'muster-cli-victim', args: {} }), { qos: 1 });
    expect(await closedWithin(m, 3000)).toBe(true);
  });

  it('lets the allowed ones through', async () => {
    const agent = await connectAs('agent');
    await agent.publishAsync(`${P}/agents/${agentId}/heartbeat`, JSON.stringify({ v: 1, bootId: 'a'.repeat(32), seq: 1, phase: 'run', uptime: 1 }), { qos: 1 });
    const otto = await connectAs('otto');
    await otto.publishAsync(`${P}/consoles/n1/in`, 'x', { qos: 1 });
    expect(await closedWithin(agent, 300)).toBe(false);
    expect(await closedWithin(otto, 300)).toBe(false);
  });
});

describe('subscribe rules: SUBACK 128 for each forbidden filter', () => {
  const readable = [`${P}/nodes/#`, `${P}/nodes/+/state`, `${P}/events/#`, `${P}/events/+`, `${P}/consoles/+/out`, `${P}/consoles/n1/out`];
  const adminOnly = ['#', '+/#', `${P}/#`, `${P}/+/+`, '$SYS/#', '$SYS/broker/clients/connected', `${P}/request/+`, `${P}/agents/+/hello`, `${P}/consoles/#`, `${P}/consoles/+/in`];

  it('refuses every subscription of an agent', async () => {
    const m = await connectAs('agent');
    for (const f of [...readable, ...adminOnly, `${P}/response/${agentId}`]) expect(await grantedQos(m, f), f).toBe(128);
    expect(m.connected).toBe(true);
  });

  for (const who of ['vera', 'otto'] as const) {
    it(`${who}: reads node state, events, console output and its own answers; nothing else`, async () => {
      const m = await connectAs(who);
      for (const f of [...readable, `${P}/response/${m.options.clientId}`]) expect(await grantedQos(m, f), f).toBe(0);
      for (const f of [...adminOnly, `${P}/response/muster-cli-other`, `${P}/response/+`]) expect(await grantedQos(m, f), f).toBe(128);
    });
  }

  it('admin: may use # and $SYS/#, but not read other clients’ answers', async () => {
    const m = await connectAs('ada');
    for (const f of [...readable, ...adminOnly]) expect(await grantedQos(m, f), f).toBe(0);
    expect(await grantedQos(m, `${P}/response/muster-cli-other`)).toBe(128);
  });

  it('delivers an answer only to its own client, even to an admin subscribed to #', async () => {
    const spy = await connectAs('ada');
    const seen: string[] = [];
    spy.on('message', (topic) => seen.push(topic));
    await spy.subscribeAsync('#');
    const other = await c.login('vera');
    await other.request('whoami');
    await spy.publishAsync(`${P}/request/whoami`, JSON.stringify({ v: 1, id: 'mine', replyTo: spy.options.clientId, args: {} }), { qos: 1 });
    await waitFor(async () => seen.includes(`${P}/response/${spy.options.clientId}`));
    expect(seen.filter((t) => t.startsWith(`${P}/response/`))).toEqual([`${P}/response/${spy.options.clientId}`]);
  });
});

describe('roles of request verbs', () => {
  it('answers each role only with what it may do, and journals the authenticated user', async () => {
    const vera = await c.login('vera');
    const otto = await c.login('otto');
    const ada = await c.login('ada');
    await expect(vera.request('nodes')).resolves.toEqual(expect.any(Array));
    await expect(vera.request('whoami')).resolves.toEqual({ user: 'vera', role: 'viewer' });
    await expect(vera.request('offline', { range: 'n1', reason: 'x' })).rejects.toThrow('offline: needs the operator role; vera is viewer');
    await expect(vera.request('power', { action: 'off', range: 'n1' })).rejects.toThrow(/needs the operator role/);
    await expect(vera.request('export', { showSecrets: true })).rejects.toThrow(/needs the admin role/);
    await expect(vera.request('export', {})).resolves.toMatchObject({ format: 'yaml' });
    await expect(otto.request('define', { range: 'n2', settings: [] })).rejects.toThrow('define: needs the admin role; otto is operator');
    await expect(otto.request('user-add', { name: 'eve', role: 'admin', passwordHash: 'x' })).rejects.toThrow(/needs the admin role/);
    await expect(otto.request('token-create', {})).rejects.toThrow(/needs the admin role/);
    // The client says it is someone else (an argument no verb has): the journal says who it really was.
    await otto.request('offline', { range: 'n1', reason: 'fan', by: 'mallory' } as VerbArgs<'offline'>);
    const show = await otto.request('show', { node: 'n1' });
    expect(show.state?.adminBy).toBe('otto');
    await expect(ada.request('define', { range: 'n2', settings: [] })).resolves.toMatchObject({ created: ['n2'] });
    await expect(ada.request('frobnicate' as VerbName)).rejects.toThrow(/unknown request/);
  });

  it('never stores or answers with a password hash, and refuses a malformed one', async () => {
    await expect(c.admin.request('user-add', { name: 'bob', role: 'viewer', passwordHash: 'plaintext-password' })).rejects.toThrow(/scrypt\$N\$r\$p/);
    const users = await c.admin.request('user-list');
    expect(users.map((u) => u.name)).toEqual(['ada', 'admin', 'otto', 'vera']);
    expect(JSON.stringify(users)).not.toMatch(/scrypt/);
  });
});

function simAgentWithToken(brokerUrl: string, id: string, agentToken: string | null, log: (line: string) => void = () => {}) {
  const messages = new AgentMessages({ agentId: id, bootId: 'b'.repeat(32), agentVersion: 'test', fingerprint: simFingerprint(0xa2) }, { now: Date.now, uptime: () => 1 });
  const link = new AgentLink({ controllers: [parseControllerUrl(brokerUrl)], messages, phase: 'kernel', heartbeatMs: 1000, token: agentToken, log });
  link.start();
  return { link };
}

async function waitFor(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
