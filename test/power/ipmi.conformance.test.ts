/** The ipmi driver against a real BMC simulator (openipmi's ipmi_sim) driven by real ipmitool. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PowerError } from '../../controller/power/driver.js';
import { bootdevPxeArgs } from '../../controller/power/drivers/ipmi.js';
import { createPowerDriver } from '../../controller/power/registry.js';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.js';
import { freePort } from '../helpers/ports.js';
import { commandLines } from '../helpers/proc.js';
import { powerConformance, type SeenCommand } from './conformance.js';

/** The chassis hook calls that switch power, as commands. */
const CHASSIS_COMMANDS: Record<string, SeenCommand> = { 'set power 0': 'off', 'set power 1': 'on', 'set reset 1': 'reset' };

let bmc: IpmiSim;
beforeAll(async () => {
  bmc = await startIpmiSim();
});
afterAll(async () => {
  await bmc?.stop();
});

powerConformance('ipmi', async () => {
  const deadPort = await freePort();
  return {
    node: 'n012',
    target: bmc.url,
    counterpart: {
      state: async () => (bmc.power() === '1' ? 'on' : 'off'),
      set: async (state) => bmc.setPower(state === 'on'),
      seen: async () => bmc.actions().flatMap((a) => CHASSIS_COMMANDS[a] ?? []),
      netbootPending: async () => bmc.bootDevice() === 'pxe',
    },
    hung: {
      target: `ipmi://admin:${bmc.password}@127.0.0.1:${deadPort}`,
      node: 'n013',
      inFlight: async () => commandLines().filter((c) => c.startsWith('ipmitool') && c.includes(` -p ${deadPort} `)).length,
    },
    wrongCredentials: { target: `ipmi://admin:wrong-${bmc.password}@127.0.0.1:${bmc.port}`, secrets: [`wrong-${bmc.password}`, bmc.password] },
    close: async () => undefined,
  };
});

describe('ipmi driver specifics', () => {
  it('cycles with `power cycle` when native: the BMC powers on again by itself', async () => {
    bmc.setPower(true);
    const native = createPowerDriver(`${bmc.url}?cycle=native`, 'n012');
    expect(native.nativeCycle).toBe(true);
    const mark = bmc.actions().length;
    await native.cycle();
    expect(bmc.actions().slice(mark)).toContain('set power 0');
    await vi.waitFor(
      () => {
        expect(bmc.actions().slice(mark).slice(-1)).toEqual(['set power 1']);
        expect(bmc.power()).toBe('1'); // the hook logs a call before it acts
      },
      { timeout: 5_000, interval: 50 },
    );
  });

  it('a wrong password names the refused session', async () => {
    const err = (await createPowerDriver(`ipmi://admin:wrong-${bmc.password}@127.0.0.1:${bmc.port}`, 'n012').status().catch((e: unknown) => e)) as PowerError;
    expect(err.message).toMatch(/^node n012: ipmi power status failed: ipmitool exited 1: .*(RMCP\+ session|password|Unable)/);
  });

  it('the password never shows in ps', async () => {
    const deadPort = await freePort();
    const ac = new AbortController();
    const pending = createPowerDriver(`ipmi://admin:${bmc.password}@127.0.0.1:${deadPort}`, 'n013').status({ signal: ac.signal }).catch((e: unknown) => e);
    // While ipmitool retries, look at its command line as `ps` would.
    const ours = await vi.waitFor(() => {
      const found = commandLines().filter((c) => c.startsWith('ipmitool') && c.includes(String(deadPort)));
      expect(found).toHaveLength(1);
      return found;
    });
    ac.abort();
    expect(ours[0]).toContain('-E power status');
    expect(ours[0]).not.toContain(bmc.password);
    expect(await pending).toBeInstanceOf(PowerError);
  });

  it('netbootOnce sets the EFI boot flag only for a UEFI node (ipmi_sim passes its hook only the device)', async () => {
    expect(bootdevPxeArgs('uefi')).toEqual(['chassis', 'bootdev', 'pxe', 'options=efiboot']);
    expect(bootdevPxeArgs('bios')).toEqual(['chassis', 'bootdev', 'pxe']);
    expect(bootdevPxeArgs(null)).toEqual(['chassis', 'bootdev', 'pxe']);
    const mark = bmc.actions().length;
    await createPowerDriver(bmc.url, 'n012').netbootOnce!('uefi');
    expect(bmc.actions().slice(mark).filter((a) => a.startsWith('set '))).toEqual(['set boot pxe']);
  });
});
