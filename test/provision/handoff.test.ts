/**
 * The automatic hand-off in a running controller: a node newly identified in a `build.auto` group,
 * with an image, is prepared and power-cycled once through its power driver (a `command:` script
 * that journals its calls); a reconnect or reboot of the bound agent, and a node whose build is
 * done, are not handed off again. A node behind a BMC (ipmi_sim) is first set to boot from the
 * network once, then cycled; one whose BMC (the Redfish test service) refuses is cycled anyway.
 * `image=` of an image no build system has is refused by the CLI.
 */
import { chmodSync, mkdirSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { Event } from '../../shared/protocol.js';
import { requireBuild, runCli } from '../helpers/controller.js';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.js';
import { startInProc, simAgent, type InProc } from '../helpers/inproc.js';
import { tempDir } from '../helpers/tmp.js';
import { REDFISH_PASSWORD, REDFISH_USER, startRedfishService, type RedfishService } from '../power/redfish-service.js';
import { until } from '../helpers/wait.js';

let c: InProc;
let bmc: IpmiSim;
let redfish: RedfishService;
const scripts = tempDir('muster-handoff-scripts-');
let powerLog: string;
const events: Event[] = [];
const agents: Array<ReturnType<typeof simAgent>> = [];

beforeAll(async () => {
  requireBuild();
  bmc = await startIpmiSim();
  redfish = await startRedfishService();
  c = await startInProc({ build: { auto: ['rack1'] }, power: { concurrency: 20, staggerMs: 0, pollIntervalS: 0 }, commands: { allowedDirs: [scripts.dir] } } as never);
  await c.client.stream([c.client.topics.allEvents], (_t, p) => void events.push(Event.parse(JSON.parse(p.toString()))));
  powerLog = join(scripts.dir, 'power.log');
  const script = join(scripts.dir, 'power.sh');
  writeFileSync(script, `#!/bin/sh\necho "$1 $2" >> ${powerLog}\n[ "$1" = status ] && echo on\nexit 0\n`);
  chmodSync(script, 0o755);
  mkdirSync(join(c.dataDir, 'images'));
  const kernel = join(c.dataDir, 'images', 'vmlinuz');
  const initrd = join(c.dataDir, 'images', 'initrd.img');
  writeFileSync(kernel, Buffer.alloc(4096, 1));
  writeFileSync(initrd, Buffer.alloc(8192, 2));
  await c.client.request('image-add', { name: 'compute', kernel, initrd });
}, 120_000);
afterAll(async () => {
  for (const a of agents) await a.link.stop();
  await c.stop();
  await bmc?.stop();
  await redfish?.close();
  scripts.remove();
}, 120_000);

/** The power script's calls that change power: status reads (a new target is read at once) do not. */
const powerCalls = () => (existsSync(powerLog) ? readFileSync(powerLog, 'utf8').trim().split('\n') : []).filter((call) => !call.startsWith('status '));
const buildState = async (node: string) => (await c.client.request('build-status', { range: node }))[0]!.state;
const show = (node: string) => c.client.request('show', { node });
function boot(i: number, agentId: string, phase: 'kernel' | 'run' = 'kernel') {
  const a = simAgent(c.running.mqttUrl, simFingerprint(i), agentId, phase);
  agents.push(a);
  return a;
}

describe('build hand-off on identification', () => {
  it('prepares and power-cycles a newly identified node once, never again for the bound agent or a built node', async () => {
    const fp = simFingerprint(21);
    await runCli(c.running.mqttUrl, ['define', 'n021', `mac=${fp.bootMac}`, 'groups=rack1', 'image=compute', `power=command:${join(scripts.dir, 'power.sh')}?cycle=native`]);
    expect(await buildState('n021')).toBe('unknown');

    // The machine boots muster's boot image, says hello and is bound by its MAC: hand-off.
    const first = boot(21, 'mac-020000000021');
    await until('the hand-off power cycle of n021', () => powerCalls().includes('cycle n021'));
    expect(powerCalls()).toEqual(['cycle n021']);
    expect(await buildState('n021')).toBe('prepared');
    const actions = await until('the hand-off cycle journalled', async () => {
      const { transitions } = await c.client.request('history', { node: 'n021', axis: 'action' });
      return transitions.some((t) => t.to === 'power-cycle done') && transitions;
    });
    expect(actions.filter((t) => t.to?.startsWith('power-cycle'))).toMatchObject([
      { to: 'power-cycle started', by: 'build hand-off' },
      { to: 'power-cycle done', by: 'build hand-off' },
    ]);
    // A command: script sets no boot device: the hand-off cycles without it.
    expect(events.filter((e) => e.node === 'n021' && e.details.action === 'power-bootdev')).toEqual([]);
    expect(events.filter((e) => e.kind === 'build' && e.node === 'n021').map((e) => e.details)).toEqual([expect.objectContaining({ state: 'prepared', by: 'identified', image: 'compute' })]);

    // The cycled machine boots its build: the bound agent's new boot is no new binding.
    await first.link.stop();
    const bootId = (await show('n021')).state!.bootId;
    await fetch(`${c.running.httpUrl}/boot/${fp.bootMac}.ipxe`);
    const built = boot(21, 'mac-020000000021');
    await until('n021 booted again', async () => (await show('n021')).state!.bootId !== bootId);
    for (const phase of ['init', 'run'] as const) built.link.setPhase(phase);
    await until('the build of n021 done', async () => (await buildState('n021')) === 'done');
    expect(powerCalls()).toEqual(['cycle n021']);

    // Its disk comes back with another agent id saying hello from the boot image: a new binding, but built.
    await built.link.stop();
    boot(21, 'uuid-reinstalled-n021');
    const skipped = await until('the hand-off of built n021 skipped', () => events.find((e) => e.kind === 'build' && e.node === 'n021' && e.details.state === 'done' && e.details.by === 'identified'));
    expect(skipped.message).toBe('n021 identified: not handed to its build, which is done');
    expect((await show('n021')).agentId).toBe('uuid-reinstalled-n021');
    expect(powerCalls()).toEqual(['cycle n021']);
  });

  it('tells the BMC to boot the node from the network once (UEFI, as it booted) before the cycle', async () => {
    const fp = { ...simFingerprint(25), firmware: { bootMode: 'uefi' as const, secureBoot: 'disabled' as const } };
    await runCli(c.running.mqttUrl, ['define', 'n025', `mac=${fp.bootMac}`, 'groups=rack1', 'image=compute', `power=${bmc.url}`]);
    bmc.setPower(true);
    const mark = bmc.actions().length;
    agents.push(simAgent(c.running.mqttUrl, fp, 'mac-020000000025'));
    const cycled = await until('the hand-off power cycle of n025', () => events.find((e) => e.node === 'n025' && e.details.action === 'power-cycle' && e.details.state !== 'started'));
    expect(cycled.details.state).toBe('done');
    // The BMC saw the boot device before the power went off and on, and the boot used it up.
    expect(bmc.actions().slice(mark).filter((a) => a.startsWith('set '))).toEqual(['set boot pxe', 'set power 0', 'set power 1']);
    expect(bmc.bootDevice()).toBe('default');
    const set = events.find((e) => e.node === 'n025' && e.details.action === 'power-bootdev')!;
    expect(set).toMatchObject({ kind: 'action', message: 'n025 next boot from the network (pxe, uefi) (build hand-off)', details: { state: 'done', target: 'pxe', mode: 'uefi', by: 'build hand-off' } });
    expect(events.indexOf(set)).toBeLessThan(events.indexOf(cycled));
  });

  it('cycles the node anyway when its BMC refuses the network boot, saying so', async () => {
    const fp = simFingerprint(26);
    redfish.systems['2']!.boot.targets = ['None', 'Hdd'];
    await runCli(c.running.mqttUrl, ['define', 'n026', `mac=${fp.bootMac}`, 'groups=rack1', 'image=compute', `power=redfish://${REDFISH_USER}:${REDFISH_PASSWORD}@${redfish.base}/Systems/2?insecure=1`]);
    agents.push(simAgent(c.running.mqttUrl, fp, 'mac-020000000026'));
    const cycled = await until('the hand-off power cycle of n026', () => events.find((e) => e.node === 'n026' && e.details.action === 'power-cycle' && e.details.state !== 'started'));
    expect(cycled.details.state).toBe('done');
    const refused = events.find((e) => e.node === 'n026' && e.details.action === 'power-bootdev')!;
    expect(refused.message).toBe('node n026: redfish boot device pxe failed: the BMC does not allow BootSourceOverrideTarget Pxe (allowed: None, Hdd); the node boots by its own boot order');
    expect(refused.details).toMatchObject({ state: 'failed', mode: null });
    expect(redfish.systems['2']!.boot.booted).toEqual(['BootOrder']);
  });

  it('leaves nodes outside the build.auto groups alone', async () => {
    const fp = simFingerprint(22);
    await runCli(c.running.mqttUrl, ['define', 'n022', `mac=${fp.bootMac}`, 'groups=rack2', 'image=compute', `power=command:${join(scripts.dir, 'power.sh')}?cycle=native`]);
    boot(22, 'mac-020000000022');
    await until('n022 bound', async () => (await show('n022')).agentId === 'mac-020000000022');
    expect(await buildState('n022')).toBe('unknown');
    expect(powerCalls()).not.toContain('cycle n022');
  });

  it('refuses image= of an image no build system has, naming the ones it has', async () => {
    await runCli(c.running.mqttUrl, ['define', 'n023']);
    const set = await runCli(c.running.mqttUrl, ['set', 'n023', 'image=rocky9'], { allowFail: true });
    expect(set.code).not.toBe(0);
    expect(set.stderr).toContain('image: build system netboot has no image "rocky9" (images: compute)');
    const define = await runCli(c.running.mqttUrl, ['define', 'n024', 'image=rocky9'], { allowFail: true });
    expect(define.stderr).toContain('image: build system netboot has no image "rocky9" (images: compute)');
    const nodes = await c.client.request('nodes', {});
    expect(nodes.find((n) => n.node === 'n023')!.image).toBeNull();
    expect(nodes.some((n) => n.node === 'n024')).toBe(false);
    await runCli(c.running.mqttUrl, ['set', 'n023', 'image=compute']);
  });
});
