/**
 * Consoles move with ownership: two controllers in this process with `federation:` on one
 * PostgreSQL database, and a node whose console is real IPMI SOL (openipmi's ipmi_sim bridging
 * its SOL payload to a TCP "UART" the test plays). Only the node's owner keeps the console; when
 * its partition moves (a controller joins and takes its share, then stops) the new owner opens
 * the SOL session (deactivating the old one first), and both logs say who handed over to whom.
 * Real lease times: the waits are bounded by a few renewals.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LEASE_TIMES } from '../../controller/federation/lease.js';
import { partitionOf } from '../../controller/federation/partitions.js';
import { ownerOf } from '../../controller/federation/rendezvous.js';
import type { ConsoleStatus } from '../../shared/verbs/results.js';
import { terminalServer } from '../console/terminal-server.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { startIpmiSim } from '../helpers/ipmi-sim.js';
import { postgresPerFile } from '../helpers/postgres.js';
import { until } from '../helpers/wait.js';

const PARTITIONS = 16;
const { createDatabase, cleanup } = postgresPerFile();
/** A round to release, one to claim, and SOL activation (ipmitool, a few seconds under load). */
const HANDOVER_MS = 4 * LEASE_TIMES.renewMs + 20_000;

describe('consoles with federation', () => {
  it("are kept by the node's owner only, and handed over with the partition, the SOL session deactivated first", async () => {
    const url = await createDatabase();
    const uart = await terminalServer();
    cleanup.push(() => uart.close());
    const bmc = await startIpmiSim({ solPort: uart.port });
    cleanup.push(() => bmc.stop());
    const start = async (id: string) => {
      const c: InProc = await startInProc({ store: url, federation: { id, partitions: PARTITIONS }, power: { concurrency: 20, staggerMs: 0, pollIntervalS: 0, groups: {} } });
      cleanup.push(() => c.stop());
      return c;
    };
    // A node of c2's share once both run.
    const node = Array.from({ length: 64 }, (_, i) => `n${String(i + 1).padStart(3, '0')}`).find((n) => ownerOf(partitionOf(n, PARTITIONS), ['c1', 'c2']) === 'c2')!;
    const log = (c: InProc) => (existsSync(`${c.dataDir}/consoles/${node}.log`) ? readFileSync(`${c.dataDir}/consoles/${node}.log`, 'utf8') : '');
    const marks = (c: InProc) => log(c).split('\n').filter((l) => l.includes('[muster]')).map((l) => l.slice(25));
    const status = async (c: InProc) => ((await c.client.request('consoles', {})) as ConsoleStatus[]).find((s) => s.node === node);
    const ipmitools = () => execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('ipmitool') && l.includes('activate'));

    const c1 = await start('c1');
    await c1.client.request('define', { range: node, settings: [`power=${bmc.url}`, 'console=sol:'] });
    await until('c1 keeping the SOL console', async () => (await status(c1))?.connected, 30_000, 200);
    await uart.say('before the handover\r\n');
    await until("the node's line in c1's log", () => log(c1).includes('before the handover'), 10_000);

    // c2 joins: c1 releases c2's share (closing the console), c2 claims it and opens the console.
    const c2 = await start('c2');
    await until("c2 keeping the node's console", async () => (await status(c2))?.connected, HANDOVER_MS, 200);
    expect(await status(c1)).toBeUndefined();
    await until("c1's handover line", () => marks(c1).includes('[muster] console handed over to c2'), 5_000);
    const c2Marks = marks(c2);
    expect(c2Marks[0]).toBe('[muster] console handed over from c1');
    expect(c2Marks[1]).toMatch(/^\[muster\] console opened: sol:ipmi:\/\/admin:\*\*\*@127\.0\.0\.1:\d+$/);
    await uart.say('after the handover\r\n');
    await until("the node's line in c2's log", () => log(c2).includes('after the handover'), 10_000);
    expect(log(c1)).not.toContain('after the handover');
    expect(ipmitools()).toHaveLength(1);

    // c2 stops: c1 claims the partition back from it at its next round and reopens the console.
    await c2.stop();
    cleanup.pop();
    await until('c1 keeping the console again', async () => (await status(c1))?.connected && marks(c1).includes('[muster] console handed over from c2'), HANDOVER_MS, 200);
    await uart.say('back on c1\r\n');
    await until("the node's line in c1's log again", () => log(c1).includes('back on c1'), 10_000);
    expect(ipmitools()).toHaveLength(1);
  }, 120_000);
});
