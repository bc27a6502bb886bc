/**
 * The message plane by partition: two controllers in this process with `federation:` on one
 * PostgreSQL database and one real Mosquitto broker, simulated agents speaking the real protocol
 * through the agent's link code, and a `command` power driver whose script journals each call.
 *  - each controller's ingest hears the heartbeats of its own nodes' agents and no other's, and
 *    holds 2 agent filters per such agent plus 3 for every agent's rare messages (the gauge);
 *  - an agent no node knows is named once, by the owner of its discovery partition;
 *  - one controller stopping cleanly: the other claims its partitions, subscribes their agents
 *    and hears them; no node turns suspect and no power action runs;
 *  - hellos heard while both were fenced (the lease table locked) are handled once the leases are
 *    back: every agent gets its record and its binding, in both rows.
 */
import mqtt from 'mqtt';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import type { Transition } from '../../shared/protocol.js';
import { LEASE_TIMES } from '../../controller/federation/lease.js';
import { partitionOf } from '../../controller/federation/partitions.js';
import { ownerOf } from '../../controller/federation/rendezvous.js';
import { simAgent, startInProc, type InProc } from '../helpers/inproc.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { postgresPerFile } from '../helpers/postgres.js';
import { powerScript } from '../reliability/faults-cluster.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const PARTITIONS = 16;
const HEARTBEAT_S = 2;
const NODES = 6;
const { createDatabase, cleanup } = postgresPerFile();

const node = (i: number) => `n${String(i).padStart(3, '0')}`;
const agentOf = (i: number) => `mac-${simFingerprint(i).bootMac!.replace(/:/g, '')}`;
const ownerAmong = (name: string, controllers: string[]) => ownerOf(partitionOf(name, PARTITIONS), controllers);

/** The agent ids whose heartbeats a controller's ingest delivered since the last `clear`. */
function heartbeatsHeard(c: InProc) {
  const heard = new Set<string>();
  c.running.ctx.events.owner('test').on('agent:heartbeat', ({ agentId }) => void heard.add(agentId));
  return heard;
}

const aliveOn = (c: InProc, names: string[]) => names.every((n) => c.running.ctx.nodeStates.get(n)?.liveness === 'alive');
const agentFilters = async (c: InProc) => (await c.running.ctx.metrics.agentSubscriptions.get()).values[0]!.value;

/** Two controllers on a new database and broker, c1 having defined NODES nodes first, each owning its share. */
async function startSite() {
  const url = await createDatabase();
  const broker = await startMosquitto();
  cleanup.push(() => broker.proc.stop());
  const t = tempDir('muster-fed-plane-');
  cleanup.push(t.remove);
  const power = powerScript(t.dir);
  const start = async (id: string) => {
    const c = await startInProc({
      store: url,
      brokers: [broker.url],
      federation: { id, partitions: PARTITIONS },
      heartbeatIntervalS: HEARTBEAT_S,
      naming: { enabled: true, pattern: 'x[01-09]' },
      commands: { allowedDirs: [t.dir] },
      power: { concurrency: 20, staggerMs: 0, pollIntervalS: 0, groups: {} },
    });
    cleanup.push(() => c.stop());
    return c;
  };
  const c1 = await start('c1');
  for (let i = 1; i <= NODES; i++) await c1.client.request('define', { range: node(i), settings: [`power=${power.target}`, `mac=${simFingerprint(i).bootMac}`] });
  await c1.running.ctx.store.flush();
  const c2 = await start('c2');
  const controllers = { c1, c2 };
  const nodesOf = (id: 'c1' | 'c2') => Array.from({ length: NODES }, (_, k) => k + 1).filter((i) => ownerAmong(node(i), ['c1', 'c2']) === id);
  const owning = () => Object.entries(controllers).every(([id, c]) => nodesOf(id as 'c1' | 'c2').every((i) => c.running.ctx.ownership!.owns(node(i))));
  await until('each owning its share', owning, 4 * LEASE_TIMES.renewMs + 2000);
  return { url, broker, power, c1, c2, controllers, nodesOf };
}

describe('agent subscriptions by partition', () => {
  it('each controller hears only its own nodes\' agents, a new agent is named once, and a stopping controller\'s agents are heard by the other with no node turning suspect and no power call', async () => {
    const { broker, power, c1, c2, controllers, nodesOf } = await startSite();
    // The names fall to both (a fixed hash): each has agents to hear and to hand over.
    expect(nodesOf('c1').length).toBeGreaterThan(0);
    expect(nodesOf('c2').length).toBeGreaterThan(0);

    const heard = { c1: heartbeatsHeard(c1), c2: heartbeatsHeard(c2) };
    const agents = Array.from({ length: NODES }, (_, k) => simAgent(broker.url, simFingerprint(k + 1), agentOf(k + 1), 'run', HEARTBEAT_S * 1000));
    for (const a of agents) cleanup.push(() => a.link.stop());
    await until('every node bound and alive on its owner', () => (['c1', 'c2'] as const).every((id) => aliveOn(controllers[id], nodesOf(id).map(node))), 45_000);

    // A fresh sample: every agent heard by its owner, and by its owner only.
    heard.c1.clear();
    heard.c2.clear();
    const own = (id: 'c1' | 'c2') => nodesOf(id).map(agentOf).sort();
    await until('each owner hearing each of its agents again', () => own('c1').every((a) => heard.c1.has(a)) && own('c2').every((a) => heard.c2.has(a)), 3 * HEARTBEAT_S * 1000);
    expect([...heard.c1].sort()).toEqual(own('c1'));
    expect([...heard.c2].sort()).toEqual(own('c2'));
    expect(await agentFilters(c1)).toBe(3 + 2 * own('c1').length);
    expect(await agentFilters(c2)).toBe(3 + 2 * own('c2').length);

    // An agent no node knows: both controllers hear its hello, the owner of its discovery partition names it.
    const events = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    cleanup.push(() => events.endAsync(true));
    const assigned: string[] = [];
    events.on('message', (_topic, payload) => void assigned.push(JSON.parse(payload.toString()).message));
    await events.subscribeAsync('muster/events/assigned', { qos: 1 });
    const newcomer = agentOf(50);
    const late = simAgent(broker.url, simFingerprint(50), newcomer, 'run', HEARTBEAT_S * 1000);
    cleanup.push(() => late.link.stop());
    await until('x01 bound on both', () => c1.running.ctx.nodes.get('x01')?.agentId === newcomer && c2.running.ctx.nodes.get('x01')?.agentId === newcomer, 30_000);
    const x01Owner = ownerAmong('x01', ['c1', 'c2']) as 'c1' | 'c2';
    await until(`${x01Owner} (x01's owner) hearing its agent`, () => heard[x01Owner].has(newcomer), 3 * HEARTBEAT_S * 1000);
    expect(assigned).toEqual([`${newcomer} is x01 (by naming)`]);
    expect(c1.running.ctx.nodes.get('x02')).toBeUndefined();
    expect(heard[x01Owner === 'c1' ? 'c2' : 'c1'].has(newcomer)).toBe(false);

    // c2 stops cleanly: c1 claims its partitions at its next round and subscribes their agents.
    const liveness: Transition[] = [];
    c1.running.ctx.events.owner('test').on('node:transition', (tr) => void (tr.axis === 'liveness' && liveness.push(tr)));
    const everyone = [...own('c1'), ...own('c2'), newcomer].sort();
    const stoppedAt = Date.now();
    await c2.stop();
    await until('c1 owning every node', () => Array.from({ length: NODES }, (_, k) => node(k + 1)).every((n) => c1.running.ctx.ownership!.owns(n)) && c1.running.ctx.ownership!.owns('x01'), 2 * LEASE_TIMES.renewMs + 2000);
    heard.c1.clear();
    await until('c1 hearing every agent', () => everyone.every((a) => heard.c1.has(a)), 3 * HEARTBEAT_S * 1000);
    expect(await agentFilters(c1)).toBe(3 + 2 * everyone.length);
    // Two more heartbeat intervals: a node not heard would be suspect by now (2 intervals missed).
    const watchUntil = Date.now() + 2 * HEARTBEAT_S * 1000 + 500;
    await until('the watch window', () => Date.now() >= watchUntil, 3 * HEARTBEAT_S * 1000);
    expect(liveness).toEqual([]);
    expect(aliveOn(c1, [...Array.from({ length: NODES }, (_, k) => node(k + 1)), 'x01'])).toBe(true);
    expect(power.calls()).toEqual([]);
    expect(Date.now() - stoppedAt).toBeLessThan(30_000);
  }, 90_000);

  it('hellos heard while every controller was fenced are handled once the leases are back: each agent recorded and bound both ways', async () => {
    const { url, broker, c1, c2, controllers, nodesOf } = await startSite();
    // The lease table locked: no renewal goes through, and both fence themselves (as a loaded site's can in a storm).
    const lock = new pg.Client({ connectionString: url });
    await lock.connect();
    cleanup.push(() => lock.end());
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE controller_leases IN ACCESS EXCLUSIVE MODE');
    await until('both fenced', () => c1.running.ctx.ownership!.ownedPartitions().length === 0 && c2.running.ctx.ownership!.ownedPartitions().length === 0, LEASE_TIMES.ttlMs + 2 * LEASE_TIMES.renewMs);
    const hellos = { c1: new Set<string>(), c2: new Set<string>() };
    for (const id of ['c1', 'c2'] as const) controllers[id].running.ctx.events.owner('test').on('agent:hello', ({ agentId }) => void hellos[id].add(agentId));
    const agents = Array.from({ length: NODES }, (_, k) => simAgent(broker.url, simFingerprint(k + 1), agentOf(k + 1), 'run', HEARTBEAT_S * 1000));
    for (const a of agents) cleanup.push(() => a.link.stop());
    const everyAgent = Array.from({ length: NODES }, (_, k) => agentOf(k + 1));
    await until('both hearing every hello', () => everyAgent.every((a) => hellos.c1.has(a) && hellos.c2.has(a)), 10_000);
    expect(Object.keys(c1.running.ctx.store.data.agents)).toEqual([]);
    expect(Object.keys(c2.running.ctx.store.data.agents)).toEqual([]);

    await lock.query('COMMIT');
    await until('every node alive on its owner', () => (['c1', 'c2'] as const).every((id) => aliveOn(controllers[id], nodesOf(id).map(node))), 30_000);
    const sql = async (q: string) => new Map((await lock.query<{ key: string; v: string | null }>(q)).rows.map((r) => [r.key, r.v]));
    await until('the store binding each node to its agent and each agent to its node', async () => {
      const [agentNode, nodeAgent] = [await sql("SELECT key, record->>'node' AS v FROM agents"), await sql("SELECT key, record->>'agentId' AS v FROM nodes")];
      return everyAgent.every((a, k) => agentNode.get(a) === node(k + 1) && nodeAgent.get(node(k + 1)) === a);
    }, 10_000);
  }, 90_000);
});
