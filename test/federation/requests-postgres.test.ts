/**
 * Requests on a federated site: three `muster controller` processes with `federation:` on one
 * PostgreSQL database and two real Mosquitto brokers, the real CLI on either, and a `command`
 * power script that journals each call with the controller that made it (each process has its id
 * in its environment).
 *  - a request is answered once, by one of the controllers (a shared subscription);
 *  - `power cycle` and `offline`/`online` on a range spanning every controller's partitions are
 *    carried out by each node's owner, each call once, and answered as one;
 *  - `nodes` and `show`, whichever controller answers, show every node with its owner's state, and
 *    so do the retained states the dashboard reads (each controller's config.json points the page
 *    at the broker's WebSocket);
 *  - a part for a controller killed a moment ago comes back as per-node errors naming it, within
 *    seconds, while the other parts are done;
 *  - a forwarded part runs with no more than the role its controller grants the client itself.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARD_SILENCE_MS } from '../../controller/api/forwarder.js';
import { partitionOf } from '../../controller/federation/partitions.js';
import { ownerOf } from '../../controller/federation/rendezvous.js';
import { NodeState, Response } from '../../shared/protocol.js';
import { Topics } from '../../shared/topics.js';
import { expectCliJson } from '../helpers/cli-json.js';
import { startInProc } from '../helpers/inproc.js';
import { runCli, startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { postgresPerFile } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const PARTITIONS = 32;
const IDS = ['c1', 'c2', 'c3'] as const;
const NODES = Array.from({ length: 12 }, (_, i) => `n${String(i + 1).padStart(3, '0')}`);
const RANGE = 'n[001-012]';
const ownerOfNode = (node: string, live: readonly string[] = IDS) => ownerOf(partitionOf(node, PARTITIONS), live)!;

const { createDatabase } = postgresPerFile();
const tmp = tempDir('muster-fed-requests-');
/** The controllers are on both; a forwarded part goes out through both and is carried out once. */
let broker: Awaited<ReturnType<typeof startMosquitto>>;
let brokerB: Awaited<ReturnType<typeof startMosquitto>>;
let dbUrl: string;
const controllers = new Map<string, ControllerProc>();
const journalFile = join(tmp.dir, 'power.log');

/** Power actions (not status reads) as `controller action node`. */
const powerCalls = () => (existsSync(journalFile) ? readFileSync(journalFile, 'utf8').split('\n').filter((l) => l && !l.split(' ').includes('status')) : []);
const cli = (args: string[], allowFail = false, url = broker.url) => runCli(url, args, { allowFail, timeoutMs: 60_000 });

/** Reads one statement's rows from the site's database. */
async function query<T>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  dbUrl = await createDatabase();
  [broker, brokerB] = await Promise.all([startMosquitto(undefined, { websockets: true }), startMosquitto()]);
  const script = join(tmp.dir, 'power.sh');
  writeFileSync(script, `#!/bin/sh\necho "$MUSTER_TEST_CONTROLLER $1 $2" >> ${journalFile}\n[ "$1" = status ] && echo on\nexit 0\n`);
  chmodSync(script, 0o755);
  for (const id of IDS) {
    const config = join(tmp.dir, `${id}.yaml`);
    writeFileSync(config, [`store: ${dbUrl}`, `federation: { id: ${id}, partitions: ${PARTITIONS} }`, 'power: { pollIntervalS: 0 }', `dashboard: { brokerWs: ${broker.wsUrl} }`, `commands: { allowedDirs: [${JSON.stringify(tmp.dir)}] }`, ''].join('\n'));
    const c = await startControllerProc(['--broker', `${broker.url},${brokerB.url}`, '--config', config], { env: { MUSTER_TEST_CONTROLLER: id, MUSTER_LOG_LEVEL: 'warn' } });
    controllers.set(id, c);
  }
  await cli(['define', RANGE, `power=command:${script}?cycle=native`]);
  // The partitions shared by rendezvous hashing, and every controller's view of it read after.
  const settled = await until(
    'the partitions shared out',
    async () => {
      const rows = await query<{ partition: number; owner: string | null }>('SELECT partition, owner FROM partitions');
      return rows.length === PARTITIONS && rows.every((r) => r.owner === ownerOf(r.partition, IDS)) && (await query<{ now: Date }>('SELECT now()'))[0]!.now;
    },
    30_000,
    200,
  );
  // Each renewal after that is followed at once by a read of the partition rows.
  await until('every controller renewed since', async () => (await query<{ n: number }>(`SELECT count(*)::int AS n FROM controller_leases WHERE expires_at > '${settled.toISOString()}'::timestamptz + interval '8.5 s'`))[0]!.n === IDS.length, 10_000, 200);
}, 90_000);

afterAll(async () => {
  for (const c of controllers.values()) await c.stop();
  await broker?.proc.stop();
  await brokerB?.proc.stop();
  tmp.remove();
});

/** The number of requests of `verb` each controller answered (its /metrics). */
async function answered(verb: string): Promise<number[]> {
  return Promise.all(
    [...controllers.values()].map(async (c) => {
      const text = await (await fetch(`${c.adminUrl}/metrics`)).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith('muster_requests_total{') && l.includes(`verb="${verb}"`))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    }),
  );
}

/** Each node's admin state in the retained states a page on `wsUrl` is given. */
async function retainedAdmin(wsUrl: string): Promise<Map<string, string>> {
  const client = await mqtt.connectAsync(wsUrl, { protocolVersion: 4 });
  const admin = new Map<string, string>();
  client.on('message', (topic, payload, packet) => {
    if (packet.retain && payload.length > 0) admin.set(topic.split('/')[2]!, NodeState.parse(JSON.parse(payload.toString('utf8'))).admin);
  });
  await client.subscribeAsync(new Topics().allNodeStates, { qos: 1 });
  await until('every retained node state', () => admin.size === NODES.length, 5000, 50);
  await client.endAsync();
  return new Map([...admin].sort());
}

describe('requests on a site of three controllers', () => {
  it('answers each request once, by one of the controllers', async () => {
    const topics = new Topics();
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: 'muster-test-once' });
    const answers: string[] = [];
    client.on('message', (_t, payload) => answers.push(Response.parse(JSON.parse(payload.toString('utf8'))).id));
    await client.subscribeAsync(topics.response('muster-test-once'), { qos: 1 });
    const ids = Array.from({ length: 30 }, (_, i) => `once-${i}`);
    for (const id of ids) await client.publishAsync(topics.request('whoami'), JSON.stringify({ v: 1, id, replyTo: 'muster-test-once', args: {} }), { qos: 1 });
    await until('every request answered', () => ids.every((id) => answers.includes(id)), 10_000, 50);
    const counts = await until('each answer counted', async () => {
      const c = await answered('whoami');
      return c.reduce((a, b) => a + b, 0) >= ids.length && c;
    });
    await client.endAsync();
    expect(answers.sort()).toEqual([...ids].sort());
    expect(counts.reduce((a, b) => a + b, 0)).toBe(ids.length);
    // The broker spreads them: every controller answers some.
    expect(counts.every((n) => n > 0)).toBe(true);
  });

  it("carries out power and offline/online on each node by its owner, once, and answers as one", async () => {
    expect(new Set(NODES.map((n) => ownerOfNode(n)))).toEqual(new Set(IDS));
    const power = await cli(['power', 'cycle', RANGE, '--json'], false, brokerB.url);
    expect(JSON.parse(power.stdout)).toMatchObject(NODES.map((node) => ({ node, ok: true })));
    expect(powerCalls().sort()).toEqual(NODES.map((n) => `${ownerOfNode(n)} cycle ${n}`).sort());

    expect((await cli(['offline', RANGE, '--reason', 'rack move'])).stdout).toBe('12 node(s) offline\n');
    // The owners' changes reach the others through the store's change feed (well under a second).
    const adminStates = async () => expectCliJson('nodes', (await cli(['nodes', RANGE, '--json'])).stdout).map((r) => [r.node, r.state.admin]);
    let inARow = 0;
    await until(
      'every node offline in answers from each controller',
      async () => {
        inARow = (await adminStates()).every(([, admin]) => admin === 'offline') ? inARow + 1 : 0;
        return inARow >= IDS.length;
      },
      15_000,
      100,
    );
    // Whichever controller answers `nodes` (the broker hands requests round), every node is offline: its owner's state.
    const before = await answered('nodes');
    for (let i = 0; i < IDS.length; i++) expect(await adminStates()).toEqual(NODES.map((n) => [n, 'offline']));
    expect((await answered('nodes')).map((n, i) => n - before[i]!)).toEqual(IDS.map(() => 1));
    // The dashboard of any controller: its page connects to the broker's WebSocket and reads the retained states.
    for (const c of controllers.values()) expect(await (await fetch(`${c.adminUrl}/dashboard/config.json`)).json()).toMatchObject({ wsUrl: broker.wsUrl, wsProblem: null });
    expect(await retainedAdmin(broker.wsUrl!)).toEqual(new Map(NODES.map((n) => [n, 'offline'])));
    const shown = expectCliJson('show', (await cli(['show', NODES[0]!, '--json'])).stdout);
    expect(shown.state).toMatchObject({ admin: 'offline', reason: 'rack move' });
    // The journal has each node's change once, by its owner's hand.
    const offlines = await query<{ node: string }>("SELECT node FROM journal WHERE axis = 'admin' AND record->>'to' = 'offline' ORDER BY node");
    expect(offlines.map((r) => r.node)).toEqual(NODES);
    expect((await cli(['online', RANGE])).stdout).toBe('12 node(s) online\n');
    await until('every node online again, on any controller', async () => expectCliJson('nodes', (await cli(['nodes', RANGE, '--json'])).stdout).every((r) => r.state.admin === 'online'), 10_000, 200);
  });

  it('answers a part for a controller killed a moment ago with per-node errors naming it, the other parts done', async () => {
    const before = powerCalls().length;
    await controllers.get('c3')!.proc.stop('SIGKILL');
    controllers.delete('c3');
    const started = Date.now();
    const r = await cli(['power', 'on', RANGE, '--json'], true);
    const took = Date.now() - started;
    expect(r.code).toBe(1);
    const results = JSON.parse(r.stdout) as Array<{ node: string; ok: boolean; error?: string }>;
    const c3s = NODES.filter((n) => ownerOfNode(n) === 'c3');
    expect(results.filter((x) => !x.ok)).toEqual(c3s.map((node) => expect.objectContaining({ node, error: `node ${node}: controller c3, its owner, did not answer within ${FORWARD_SILENCE_MS / 1000} s` })));
    expect(results.filter((x) => x.ok).map((x) => x.node)).toEqual(NODES.filter((n) => !c3s.includes(n)));
    expect(powerCalls().slice(before).sort()).toEqual(NODES.filter((n) => !c3s.includes(n)).map((n) => `${ownerOfNode(n)} on ${n}`).sort());
    // The silence bound and a CLI start, not a CLI timeout.
    expect(took).toBeLessThan(FORWARD_SILENCE_MS + 10_000);
  }, 60_000);

  it('runs a forwarded part with no more than the role its controller grants the client: a forged admin forward on a viewers-only controller is refused', async () => {
    // A fourth controller whose external broker clients are anonymous viewers.
    const c4 = await startInProc({ store: dbUrl, federation: { id: 'c4', partitions: PARTITIONS }, brokers: [broker.url], auth: { anonymousAgents: true, anonymousRole: 'viewer', agentTokens: [], trustExternalBroker: false, reintroduceWindow: 600 } });
    try {
      const topics = new Topics();
      const forger = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: 'muster-test-forger' });
      const answers: unknown[] = [];
      forger.on('message', (_t, payload) => answers.push(JSON.parse(payload.toString('utf8'))));
      await forger.subscribeAsync(topics.controllerResponse('forger'), { qos: 1 });
      const forged = { v: 1, id: 'forged-1', from: 'forger', verb: 'offline', replyTo: 'muster-test-forger', user: 'mallory', role: 'admin', args: { range: NODES[0], reason: 'forged' } };
      await forger.publishAsync(topics.controllerRequest('c4'), JSON.stringify(forged), { qos: 1 });
      const refusal = await until('the answer to the forged part', () => answers.find((a) => (a as { ok?: boolean }).ok !== undefined), 10_000, 50);
      await forger.endAsync();
      expect(refusal).toEqual({ v: 1, id: 'forged-1', ok: false, error: 'offline: needs the operator role; mallory is viewer', code: 'role' });
      expect(answers[0]).toEqual({ v: 1, id: 'forged-1', accepted: true });
    } finally {
      await c4.stop();
    }
  });
});
