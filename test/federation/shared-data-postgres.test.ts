/**
 * Two controllers in this process with `federation:` on one PostgreSQL database share the node
 * data through the store's change feed: a node defined, changed or removed through one is seen by
 * the other within a bounded wait (its `nodes` verb, and its identification binding an agent by
 * the node's MAC); the runtime of a node is written only by its owner, as the runtime alone (a
 * definition change committed meanwhile stays), and taken by the other; a row that does not fit
 * is refused with a log line naming its table and key; a lost LISTEN connection is made again and
 * everything is read again. Every wait is a bounded poll.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { LEASE_TIMES } from '../../controller/federation/lease.js';
import { partitionOf } from '../../controller/federation/partitions.js';
import { ownerOf } from '../../controller/federation/rendezvous.js';
import { simAgent, startInProc, type InProc } from '../helpers/inproc.js';
import { logSink } from '../helpers/log-sink.js';
import { postgresPerFile } from '../helpers/postgres.js';
import { until } from '../helpers/wait.js';

const PARTITIONS = 16;
/** A change on one controller is on the other after its debounce (20 ms), the commit and one read. */
const SEEN_WITHIN_MS = 3000;
const { createDatabase, cleanup } = postgresPerFile();

describe('controllers sharing the node data', () => {
  let url: string;
  let a: InProc;
  let b: InProc;
  const bLog = logSink('warn');
  let sql: pg.Client;
  /** Stopped after the last test (cleanup runs after each). */
  const teardown: Array<() => unknown> = [];

  beforeAll(async () => {
    url = await createDatabase();
    const start = (id: string, log?: typeof bLog.log) => startInProc({ store: url, federation: { id, partitions: PARTITIONS } }, log ? { log } : {});
    a = await start('a');
    teardown.push(() => a.stop());
    b = await start('b', bLog.log);
    teardown.push(() => b.stop());
    sql = new pg.Client({ connectionString: url });
    await sql.connect();
    teardown.push(() => sql.end());
    // Both hold their share: a releases b's at its next round, b claims it at its own.
    const names = ['n001', 'n002', 'n003', 'n004'];
    await until('each owning its share', () => names.every((n) => (ownerOf(partitionOf(n, PARTITIONS), ['a', 'b']) === 'a' ? a : b).running.ctx.ownership!.owns(n)), 4 * LEASE_TIMES.renewMs + 2000);
  });
  afterAll(async () => {
    for (const t of teardown.reverse()) await t();
  });

  const nodesOn = async (c: InProc) => (await c.client.request('nodes', {})).map((r) => r.node);

  it('a node defined, changed and removed on one controller is so on the other', async () => {
    await a.client.request('define', { range: 'n[001-004]', settings: ['groups=rack1'] });
    await until('b listing the nodes a defined', async () => (await nodesOn(b)).join() === 'n001,n002,n003,n004', SEEN_WITHIN_MS);

    await a.client.request('set', { range: 'n002', settings: ['attr.rack=r12', 'groups=rack2'] });
    const shown = await until('b showing the change', async () => {
      const s = await b.client.request('show', { node: 'n002' });
      return s.attrs?.rack === 'r12' && s;
    }, SEEN_WITHIN_MS);
    expect(shown.groups).toEqual(['rack2']);
    expect(await b.client.request('groups', {})).toMatchObject({ rack1: ['n001', 'n003', 'n004'], rack2: ['n002'] });

    // And the other way round.
    await b.client.request('undefine', { range: 'n004' });
    await until('a no longer listing n004', async () => (await nodesOn(a)).join() === 'n001,n002,n003', SEEN_WITHIN_MS);
    expect(b.running.ctx.nodeStates.get('n004')).toBeNull();
  });

  it("the other controller's identification finds a node by the MAC defined on the first", async () => {
    // simFingerprint(20): MAC 02:00:00:00:00:14.
    await a.client.request('define', { range: 'n020', settings: ['mac=02:00:00:00:00:14'] });
    await until('b knowing n020', () => b.running.ctx.nodes.get('n020'), SEEN_WITHIN_MS);
    const agent = simAgent(b.running.mqttUrl, simFingerprint(20), 'mac-020000000014');
    cleanup.push(() => agent.link.stop());
    const bound = await until('b binding the agent to n020', async () => (await b.client.request('nodes', { range: 'n020' }))[0]!.agentId, 10_000);
    expect(bound).toBe('mac-020000000014');
    // b wrote the binding; a has it.
    await until('a seeing the binding', () => a.running.ctx.nodes.get('n020')?.agentId === 'mac-020000000014', SEEN_WITHIN_MS);
  });

  it("only a node's owner writes its runtime; the other takes the owner's", async () => {
    const names = ['n001', 'n002', 'n003'];
    const aNode = names.find((n) => ownerOf(partitionOf(n, PARTITIONS), ['a', 'b']) === 'a');
    expect(aNode, 'one of n001-n003 falls to a').toBeDefined();
    const node = aNode!;
    await until('a owning its node', () => a.running.ctx.ownership!.owns(node) && !b.running.ctx.ownership!.owns(node), 4 * LEASE_TIMES.renewMs + 2000);
    const storedPower = async () => {
      const r = await sql.query<{ record: { runtime?: { power?: string } } }>('SELECT record FROM nodes WHERE key = $1', [node]);
      return r.rows[0]?.record.runtime?.power;
    };
    // Every power a row of the node was ever written with: a trigger's journal, so a write healed since still shows.
    await sql.query(`CREATE TABLE written_power (power text);
      CREATE FUNCTION journal_power() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.key = '${node}' THEN INSERT INTO written_power VALUES (NEW.record->'runtime'->>'power'); END IF; RETURN NEW; END $$;
      CREATE TRIGGER journal_power AFTER INSERT OR UPDATE ON nodes FOR EACH ROW EXECUTE FUNCTION journal_power();`);
    const at = Date.now();
    a.running.ctx.events.emit('power:reading', { node, power: 'on', at });
    await a.running.ctx.store.flush();
    expect(await storedPower()).toBe('on');
    await until("b's state taking a's runtime", () => b.running.ctx.nodeStates.get(node)?.power === 'on', SEEN_WITHIN_MS);

    // b's state manager hears otherwise: its view changes, the stored runtime (a's) does not.
    b.running.ctx.events.emit('power:reading', { node, power: 'off', at: Date.now() });
    expect(b.running.ctx.nodeStates.get(node)?.power).toBe('off');
    await b.running.ctx.store.flush();
    // A write of b's that carries the row (a definition change) carries a's runtime.
    await b.client.request('set', { range: node, settings: ['attr.note=b'] });
    await b.running.ctx.store.flush();
    expect(await storedPower()).toBe('on');
    await until('a having b\'s definition change', () => a.running.ctx.nodes.get(node)?.attrs.note === 'b', SEEN_WITHIN_MS);
    expect(a.running.ctx.nodeStates.get(node)?.power).toBe('on');
    const written = await sql.query<{ power: string | null }>('SELECT power FROM written_power');
    expect(written.rows.length).toBeGreaterThan(0);
    expect(written.rows.filter((r) => r.power === 'off')).toEqual([]);
  });

  it("the owner's runtime write keeps a definition change another controller committed meanwhile", async () => {
    const node = ['n001', 'n002', 'n003'].find((n) => ownerOf(partitionOf(n, PARTITIONS), ['a', 'b']) === 'a')!;
    await until('a owning its node', () => a.running.ctx.ownership!.owns(node), 4 * LEASE_TIMES.renewMs + 2000);
    // Another controller's commit whose notification has not reached a yet (none is sent): a binding
    // or `set` racing the owner's runtime write. A whole-row write of a's copy would undo it.
    await sql.query(`UPDATE nodes SET record = jsonb_set(record::jsonb, '{attrs}', '{"racer": "kept"}')::json WHERE key = $1`, [node]);
    const power = a.running.ctx.nodeStates.get(node)?.power === 'on' ? 'off' : 'on';
    a.running.ctx.events.emit('power:reading', { node, power, at: Date.now() });
    await a.running.ctx.store.flush();
    const row = (await sql.query<{ record: { attrs: Record<string, string>; runtime: { power: string } } }>('SELECT record FROM nodes WHERE key = $1', [node])).rows[0]!.record;
    expect(row.runtime.power).toBe(power);
    expect(row.attrs).toEqual({ racer: 'kept' });
  });

  it('a row that does not fit is refused naming its table and key; the controller goes on', async () => {
    const before = bLog.lines.length;
    await sql.query(`INSERT INTO nodes (key, record) VALUES ('n050', $1)`, [JSON.stringify({ name: 'n050', ids: {}, createdAt: 1, updatedAt: 1, rack: 'r1' })]);
    await sql.query(`SELECT pg_notify('muster_store', $1)`, [JSON.stringify({ w: 'by-hand', t: { nodes: ['n050'] } })]);
    const refused = await until('b refusing the row', () => bLog.lines.slice(before).find((l) => String(l.err).includes('table nodes, key n050')), SEEN_WITHIN_MS);
    expect(refused.msg).toMatch(/a row another controller wrote does not fit; not applied/);
    expect(String(refused.err)).toMatch(/has fields this muster does not know: nodes\.n050\.rack/);
    expect(b.running.ctx.nodes.get('n050')).toBeUndefined();
    await sql.query(`DELETE FROM nodes WHERE key = 'n050'`);

    await a.client.request('define', { range: 'n051', settings: [] });
    await until('b still following a', async () => (await nodesOn(b)).includes('n051'), SEEN_WITHIN_MS);
  });

  it('after its LISTEN connection is killed, a controller reads everything again', async () => {
    // Written with no notification: only a full read finds it.
    await sql.query(`INSERT INTO nodes (key, record) VALUES ('n060', $1)`, [JSON.stringify({ name: 'n060', ids: {}, createdAt: 1, updatedAt: 1 })]);
    const killed = await sql.query<{ ok: boolean }>(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query = 'LISTEN muster_store' AND pid <> pg_backend_pid()`);
    expect(killed.rows.length).toBe(2);
    await until('b reading n060 after reconnecting', async () => (await nodesOn(b)).includes('n060'), 10_000);
    expect(bLog.lines.some((l) => /store change feed/.test(String(l.msg)))).toBe(true);
    // Notifications flow again.
    await a.client.request('define', { range: 'n061', settings: [] });
    await until('b following a again', async () => (await nodesOn(b)).includes('n061'), SEEN_WITHIN_MS);
  });
});
