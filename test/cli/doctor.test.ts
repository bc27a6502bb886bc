/**
 * `muster doctor` against a real controller process: power targets on a real BMC (ipmi_sim), a
 * real agent whose clock libfaketime puts an hour ahead, a real agent with a revoked token, an
 * image file changed behind the catalog's back and a data directory opened to everyone. A healthy
 * site first passes every check; then each fault is shown failing with its fix, and the exit
 * code says so.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliJson } from '../../shared/cli-output.js';
import { expectCliJson } from '../helpers/cli-json.js';
import { agentBin, fixtureCopy, startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.js';
import { start, type Proc } from '../helpers/proc.js';
import { until } from '../helpers/wait.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

let ctl: ControllerProc;
let bmc: IpmiSim;
const agents: Proc[] = [];

beforeAll(async () => {
  bmc = await startIpmiSim();
  ctl = await startControllerProc();
});
afterAll(async () => {
  for (const a of agents) await a.stop();
  await ctl?.stop();
  await bmc?.stop();
});

async function doctor(): Promise<{ code: number; out: string; checks: CliJson<'doctor'>['checks'] }> {
  const text = await ctl.cli(['doctor'], { allowFail: true });
  const json = await ctl.cli(['doctor', '--json'], { allowFail: true });
  expect(json.code).toBe(text.code);
  const parsed = expectCliJson('doctor', json.stdout);
  expect(parsed.ok).toBe(json.code === 0);
  return { code: text.code, out: text.stdout, checks: parsed.checks };
}

const byId = (checks: CliJson<'doctor'>['checks'], id: string) => checks.find((c) => c.id === id)!;

function agent(machine: string, env: NodeJS.ProcessEnv): Proc {
  const p = start(process.execPath, [agentBin, '--root', fixtureCopy(machine), '--controller', ctl.mqttUrl, '--interval', '1'], { env: { ...process.env, ...env } });
  agents.push(p);
  return p;
}

describe('muster doctor', () => {
  it('passes every check of a healthy site, and says which do not apply', async () => {
    await ctl.cli(['define', 'n001', `power=${bmc.url}`]);
    const r = await doctor();
    expect(r.code).toBe(0);
    expect(r.checks.map((c) => c.id)).toEqual(['controller', 'store', 'data-dir', 'tls', 'dhcp', 'tftp', 'loaders', 'images', 'tokens', 'power', 'clock']);
    expect(r.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(byId(r.checks, 'power')).toMatchObject({ status: 'ok', detail: '1 node(s) answered a power status query' });
    expect(bmc.actions()).toContain('get power');
    expect(r.out).toMatch(/^✔ controller +mqtt:\/\/127\.0\.0\.1:\d+ answers: muster \d+\.\d+\.\d+$/m);
    expect(r.out).toMatch(/^– TLS certificate +not configured/m);
    expect(r.out).toMatch(/^11 check\(s\): 7 ok, 0 failed, 4 not applicable$/m);
  });

  it('shows each fault failing with its fix, and exits 1', async () => {
    // Two nodes whose BMC refuses the password: one cause, both named.
    await ctl.cli(['define', 'n[002-003]', `power=ipmi://admin:wrong@127.0.0.1:${bmc.port}`]);
    // An agent an hour ahead, bound to a node.
    agent('two-nics-ib', { LD_PRELOAD: LIBFAKETIME, FAKETIME: '+1h', FAKETIME_DONT_RESET: '1' });
    const agentId = await until('the agent discovered', async () => JSON.parse((await ctl.cli(['discovered', '--json'])).stdout)[0]?.agentId as string | undefined, 20_000, 200);
    await ctl.cli(['assign', agentId, 'n004']);
    // An agent with a token the controller does not know (revoked, or never minted).
    agent('odd', { MUSTER_TOKEN: 'mt1.revoked-token-revoked-token-revoked-token-rev' });
    // An image whose initrd changed after it was added.
    const images = join(ctl.dataDir, 'images');
    mkdirSync(images, { recursive: true });
    writeFileSync(join(images, 'vmlinuz'), 'kernel');
    writeFileSync(join(images, 'initrd'), 'initrd');
    await ctl.cli(['image', 'add', 'test', '--kernel', join(images, 'vmlinuz'), '--initrd', join(images, 'initrd')]);
    writeFileSync(join(images, 'initrd'), 'initrd, changed');
    // The data directory opened to everyone.
    chmodSync(ctl.dataDir, 0o755);

    const r = await until(
      'the agents seen',
      async () => {
        const d = await doctor();
        return byId(d.checks, 'clock').status === 'fail' && byId(d.checks, 'tokens').status === 'fail' ? d : undefined;
      },
      30_000,
      500,
    );
    expect(r.code).toBe(1);
    expect(byId(r.checks, 'power')).toMatchObject({ status: 'fail', fix: expect.stringContaining('credentials') });
    expect(byId(r.checks, 'power').detail).toMatch(/^2 of 3 node\(s\) did not answer: 2× ipmi power status failed: .* \(n002, n003\); 1 node\(s\) have no power target \(not checked\)$/);
    expect(byId(r.checks, 'clock').detail).toMatch(/^1 of 1 node\(s\) off by more than 2 s: n004 \+3[56]\d\d\.\d s$/);
    expect(byId(r.checks, 'tokens').detail).toMatch(/^1 agent\(s\) refused in the last hour: \S+ \(\d+×, last \S+: unknown or revoked token, and not its own secret\)$/);
    expect(byId(r.checks, 'images')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/image test initrd \S+ has changed since it was added/) });
    expect(byId(r.checks, 'data-dir')).toMatchObject({ status: 'fail', detail: expect.stringContaining('mode 0755'), fix: `chmod 0700 ${ctl.dataDir}` });
    expect(r.out).toMatch(/^✘ power targets +2 of 3 node\(s\) did not answer/m);
    expect(r.out).toMatch(/^ +fix: chmod 0700 /m);
    expect(r.out).toMatch(/^11 check\(s\): \d+ ok, 5 failed, 4 not applicable$/m);
  });

  it('fails the controller check when nothing answers', async () => {
    const r = await ctl.cli(['--controller', 'mqtt://127.0.0.1:1', 'doctor'], { allowFail: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✘ controller +cannot reach the controller at mqtt:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/m);
    expect(r.stdout).toMatch(/fix: start the controller/);
  });
});

describe('muster doctor on the demo', () => {
  it('gives no ✘ (what npm start runs, with fewer nodes)', async () => {
    const demo = await startControllerProc(['--demo', '4']);
    try {
      // The simulated agents report their clocks once they have said hello.
      const r = await until('the demo nodes bound', async () => {
        const out = await demo.cli(['doctor'], { allowFail: true });
        return /agent clocks +4 node\(s\) within/.test(out.stdout) ? out : undefined;
      }, 30_000, 500);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('✘');
      expect(r.stdout).toMatch(/^✔ power targets +4 node\(s\) answered a power status query$/m);
    } finally {
      await demo.stop();
    }
  });
});
