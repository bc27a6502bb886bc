/**
 * What the agent sees of the firmware reaches the BIOS diff: an agent on the two-nics-ib machine
 * (UEFI, Secure Boot on, BIOS 1.13.2; fingerprint read from the fixture by the agent's own code)
 * says hello through the agent's link to an in-process controller, bound by its DMI UUID.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFingerprint } from '../../agent/fingerprint/index.js';
import { simAgent, startInProc, type InProc } from '../helpers/inproc.js';
import { until } from '../helpers/wait.js';

let c: InProc | undefined;
let agent: ReturnType<typeof simAgent> | undefined;
afterAll(async () => {
  await agent?.link.stop();
  await c?.stop();
});

describe('BIOS settings an agent reports', () => {
  it('version, os.bootMode and os.secureBoot are compared with the desired ones', async () => {
    c = await startInProc();
    const { client } = c;
    await client.request('define', { range: 'n002', settings: ['groups=compute', 'uuid=4c4c4544-0058-4b10-8032-b7c04f514a33'] });
    await client.request('bios-set', { target: 'compute', settings: ['version=1.13.2', 'os.bootMode=uefi', 'os.secureBoot=disabled'] });
    agent = simAgent(c.running.mqttUrl, readFingerprint(join(import.meta.dirname, '..', 'fixtures', 'two-nics-ib')), 'uuid-4c4c4544-0058-4b10-8032-b7c04f514a33');
    const [row] = await until('the hello recorded', async () => {
      const rows = await client.request('bios-diff', { range: 'n002' });
      return rows[0]?.reportedAt ? rows : undefined;
    });
    expect(row).toMatchObject({ node: 'n002', drift: [{ key: 'os.secureBoot', desired: 'disabled', actual: 'enabled', pending: null, from: 'group compute' }] });
    await client.request('bios-set', { target: 'compute', settings: ['os.secureBoot=enabled'] });
    expect((await client.request('bios-diff', { range: 'n002' }))[0]?.drift).toEqual([]);
  });
});
