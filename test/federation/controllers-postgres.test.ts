/**
 * Two controllers in this process with `federation:` on one PostgreSQL database: the power verb
 * passes the gate of the controller asked, so a node of the other's partition is refused with a
 * clear error and its BMC (a journalling `command:` script) sees nothing; a controller stopping
 * drops its lease and the other takes its partitions at its next round. Real lease times: the
 * waits are bounded by a few renewals.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { LEASE_TIMES } from '../../controller/federation/lease.js';
import { partitionOf } from '../../controller/federation/partitions.js';
import { ownerOf } from '../../controller/federation/rendezvous.js';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { simAgent, startInProc, type InProc } from '../helpers/inproc.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { postgresPerFile } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const PARTITIONS = 16;
const { createDatabase, cleanup } = postgresPerFile();

describe('controllers sharing a site', () => {
  it('each acts only for its partitions: the other\'s node is refused before its BMC, and a stopping controller hands its partitions over', async () => {
    const url = await createDatabase();
    const t = tempDir('muster-fed-ctl-');
    cleanup.push(t.remove);
    const journal = join(t.dir, 'journal');
    const script = join(t.dir, 'power.sh');
    writeFileSync(script, `#!/bin/sh\necho "$1 $2" >> ${journal}\n[ "$1" = status ] && echo on\nexit 0\n`);
    chmodSync(script, 0o755);
    // Actions only: defining a node with a power target reads its status once (not an action).
    const bmcCalls = () => (existsSync(journal) ? readFileSync(journal, 'utf8').trim().split('\n') : []).filter((l) => !l.startsWith('status '));
    const start = async (id: string) => {
      const c: InProc = await startInProc({
        store: url,
        federation: { id, partitions: PARTITIONS },
        commands: { allowedDirs: [t.dir] },
        power: { concurrency: 20, staggerMs: 0, pollIntervalS: 0, groups: {} },
      });
      cleanup.push(() => c.stop());
      return c;
    };

    const c1 = await start('c1');
    const nodes = Array.from({ length: 12 }, (_, i) => `n${String(i + 1).padStart(3, '0')}`);
    await c1.client.request('define', { range: 'n[001-012]', settings: [`power=command:${script}`] });
    await c1.running.ctx.store.flush();
    const c2 = await start('c2');
    const ownerOfNode = (n: string) => ownerOf(partitionOf(n, PARTITIONS), ['c1', 'c2']);
    const mine = nodes.find((n) => ownerOfNode(n) === 'c1')!;
    const theirs = nodes.find((n) => ownerOfNode(n) === 'c2')!;
    const theirPartition = partitionOf(theirs, PARTITIONS);
    const phaseSinceMine = c1.running.ctx.nodeStates.get(mine)!.phaseSince;
    // c1 releases c2's share at its next round, c2 claims it at its own.
    await until('c2 owning its share', () => c2.running.ctx.ownership!.owns(theirs), 4 * LEASE_TIMES.renewMs + 2000);
    expect(c1.running.ctx.ownership!.owns(theirs)).toBe(false);

    const refused = await until(
      "c1's view of c2's claim",
      async () => {
        const { results } = await c1.client.request('power', { action: 'cycle', range: theirs });
        return results[0]!.error?.includes('owned by c2') && results[0]!;
      },
      4 * LEASE_TIMES.renewMs + 2000,
      200,
    );
    expect(refused).toMatchObject({ node: theirs, ok: false, error: `node ${theirs}: power cycle refused: partition ${theirPartition} is owned by c2 (epoch 2)` });
    expect(bmcCalls().filter((l) => l.endsWith(` ${theirs}`))).toEqual([]);

    // An admin change of the other's node is refused too: only a node's owner keeps its admin state.
    await expect(c1.client.request('offline', { range: theirs, reason: 'fan' })).rejects.toThrow(`node ${theirs}: offline refused: partition ${theirPartition} is owned by c2; send it to c2`);
    expect(await c1.client.request('offline', { range: mine, reason: 'fan' })).toEqual({ nodes: [mine] });
    await c1.client.request('online', { range: mine });

    const { results } = await c1.client.request('power', { action: 'on', range: mine });
    expect(results).toMatchObject([{ node: mine, ok: true }]);
    expect(bmcCalls()).toEqual([`on ${mine}`]);
    const { results: viaC2 } = await c2.client.request('power', { action: 'on', range: theirs });
    expect(viaC2).toMatchObject([{ node: theirs, ok: true }]);
    expect(bmcCalls()).toEqual([`on ${mine}`, `on ${theirs}`]);

    // c2 stops: its lease is dropped, and c1 claims its partitions at its next round (epoch 3).
    const phaseSince = c1.running.ctx.nodeStates.get(theirs)!.phaseSince;
    await c2.stop();
    cleanup.pop();
    await until('c1 owning every node again', () => nodes.every((n) => c1.running.ctx.ownership!.owns(n)), 2 * LEASE_TIMES.renewMs + 2000);
    // Its state manager adopted the node: the phase clock restarted, the node it kept all along did not.
    // (Shown as wall time, steady + offset: equal within a few ms.)
    await until("the adopted node's phase clock restarted", () => c1.running.ctx.nodeStates.get(theirs)!.phaseSince > phaseSince + 1000, 2000);
    expect(Math.abs(c1.running.ctx.nodeStates.get(mine)!.phaseSince - phaseSinceMine)).toBeLessThan(50);
    const { results: after } = await c1.client.request('power', { action: 'off', range: theirs });
    expect(after).toMatchObject([{ node: theirs, ok: true }]);
  });

  it("journals a node's transitions on its owner only, though every controller hears its agent", async () => {
    const url = await createDatabase();
    const broker = await startMosquitto();
    cleanup.push(() => broker.proc.stop());
    const running: InProc[] = [];
    // Stopping a controller writes out its journal queue: the journal is read after both stopped.
    const stopAll = () => Promise.all(running.splice(0).map((c) => c.stop()));
    cleanup.push(stopAll);
    const start = async (id: string) => {
      const c = await startInProc({ store: url, federation: { id, partitions: PARTITIONS }, brokers: [broker.url] });
      running.push(c);
      return c;
    };
    const c1 = await start('c1');
    const fp = simFingerprint(7);
    await c1.client.request('define', { range: 'n007', settings: [`macs=${fp.bootMac}`] });
    await c1.running.ctx.store.flush();
    const c2 = await start('c2');
    const owner = ownerOf(partitionOf('n007', PARTITIONS), ['c1', 'c2']) === 'c1' ? c1 : c2;
    await until('both controllers sharing the partitions', () => c1.running.ctx.ownership!.owns('n007') !== c2.running.ctx.ownership!.owns('n007') && owner.running.ctx.ownership!.owns('n007'), 4 * LEASE_TIMES.renewMs + 2000);
    const agent = simAgent(broker.url, fp, `mac-${fp.bootMac!.replace(/:/g, '')}`, 'run');
    // Both controllers hear the hello and track the node; only the owner's transitions reach the shared journal.
    await until('the node alive in run on both', () => [c1, c2].every((c) => c.running.ctx.nodeStates.get('n007')?.phase === 'run'), 10_000);
    await agent.link.stop();
    await stopAll();
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    cleanup.push(() => db.end());
    const rows = (await db.query<{ axis: string; record: { from: string | null; to: string | null } }>("SELECT axis, record FROM journal WHERE node = 'n007' ORDER BY seq")).rows;
    const changes = rows.map((t) => `${t.axis} ${t.record.from} → ${t.record.to}`);
    expect(changes).toContain('phase unknown → run');
    expect(new Set(changes).size).toBe(changes.length);
  });
});
