/** The fence driver running Debian's fence_ipmilan (fence-agents) against openipmi's ipmi_sim. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerError } from '../../controller/power/driver.js';
import { createPowerDriver } from '../../controller/power/registry.js';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.js';
import { freePort } from '../helpers/ports.js';
import { commandLines } from '../helpers/proc.js';
import { powerConformance, type SeenCommand } from './conformance.js';

/** The chassis hook calls that switch power, as commands. */
const CHASSIS_COMMANDS: Record<string, SeenCommand> = { 'set power 0': 'off', 'set power 1': 'on', 'set reset 1': 'reset' };
const OPTIONS = 'lanplus=1&cipher=3';

let bmc: IpmiSim;
beforeAll(async () => {
  bmc = await startIpmiSim();
});
afterAll(async () => {
  await bmc?.stop();
});

powerConformance('fence', async () => {
  const deadPort = await freePort();
  return {
    node: 'n030',
    target: `fence://admin:${bmc.password}@127.0.0.1:${bmc.port}/ipmilan?${OPTIONS}`,
    counterpart: {
      state: async () => (bmc.power() === '1' ? 'on' : 'off'),
      set: async (state) => bmc.setPower(state === 'on'),
      seen: async () => bmc.actions().flatMap((a) => CHASSIS_COMMANDS[a] ?? []),
    },
    hung: {
      target: `fence://admin:${bmc.password}@127.0.0.1:${deadPort}/ipmilan?${OPTIONS}`,
      node: 'n031',
      // fence_ipmilan (python) and the ipmitool it starts.
      inFlight: async () => commandLines().filter((c) => c.includes('fence_ipmilan') || (c.startsWith('ipmitool') && c.includes(String(deadPort)))).length,
    },
    wrongCredentials: { target: `fence://admin:wrong-${bmc.password}@127.0.0.1:${bmc.port}/ipmilan?${OPTIONS}`, secrets: [`wrong-${bmc.password}`, bmc.password] },
    close: async () => undefined,
  };
});

describe('fence driver specifics', () => {
  it('names the agent and the option it refuses, and the agent\'s own error', async () => {
    expect(() => createPowerDriver('fence://h/ipmi lan', 'n030')).toThrow(/the fence agent must be named by the path/);
    expect(() => createPowerDriver(`fence://admin:${bmc.password}@h/ipmilan?password=x`, 'n030')).toThrow(/option "password=" is not a fence option here/);
    const err = (await createPowerDriver(`fence://admin:wrong@127.0.0.1:${bmc.port}/ipmilan?${OPTIONS}`, 'n030').status().catch((e: unknown) => e)) as PowerError;
    expect(err.message).toBe('node n030: fence power status failed: fence_ipmilan status exited 1: Failed: Unable to obtain correct plug status or plug is not available');
  });
});
