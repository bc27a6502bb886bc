/**
 * BIOS settings on a Redfish BMC: the reads and the staged write against the Redfish test service
 * (DMTF Bios, its @Redfish.Settings resource and an attribute registry), over HTTPS; and the same
 * resources as Ironic's Redfish library (Debian's python3-sushy) reads and writes them.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { planBiosWrite } from '../../controller/records/bios.js';
import { readAttributeRules, readRedfishBios, stageRedfishBios } from '../../controller/records/bios-redfish.js';
import { redfishClient } from '../../controller/power/redfish-client.js';
import { REDFISH_PASSWORD, REDFISH_USER, startRedfishService, type RedfishService } from '../power/redfish-service.js';

let svc: RedfishService;
beforeAll(async () => {
  svc = await startRedfishService();
});
afterAll(async () => {
  await svc?.close();
});
beforeEach(() => svc.reset());

const client = (system: string) => redfishClient(new URL(`redfish://${REDFISH_USER}:${REDFISH_PASSWORD}@${svc.base}/Systems/${system}`), { ca: svc.cert });
const signal = () => AbortSignal.timeout(10_000);
const want = (settings: Record<string, string>) => Object.fromEntries(Object.entries(settings).map(([k, value]) => [k, { value, from: 'node n001' }]));

describe('BIOS on a Redfish BMC', () => {
  it('reads the version, the actual attributes and the pending ones, following the links the BMC gives', async () => {
    svc.systems['1']!.bios.pending = { ProcTurboMode: 'Disabled', BootMode: 'Uefi' };
    const bios = await readRedfishBios(client('1'), signal());
    expect(bios).toEqual({
      version: 'U30 v2.54',
      attributes: svc.systems['1']!.bios.attributes,
      // BootMode is staged at the value it already has: nothing changes at the reset.
      pending: { ProcTurboMode: 'Disabled' },
      settingsPath: '/redfish/v1/Systems/1/Bios/Settings',
      registry: 'BiosAttributeRegistryT1.v1_0_0',
    });
    expect(svc.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /redfish/v1/Systems/1', 'GET /redfish/v1/Systems/1/Bios', 'GET /redfish/v1/Systems/1/Bios/Settings']);
  });

  it('reads the attribute registry the Bios names', async () => {
    const rules = await readAttributeRules(client('1'), 'BiosAttributeRegistryT1.v1_0_0', signal());
    expect(rules?.get('ProcTurboMode')).toEqual({ type: 'Enumeration', values: ['Enabled', 'Disabled'], readOnly: false });
    expect(rules?.get('PowerOnDelay')).toEqual({ type: 'Integer', readOnly: false, lowerBound: 0, upperBound: 120 });
    expect(rules?.get('SerialNumber')).toEqual({ type: 'String', readOnly: true });
    expect(await readAttributeRules(client('1'), 'NoSuchRegistry.v1_0_0', signal())).toBeNull();
  });

  it('stages the planned attributes, typed, in the Settings resource; the BMC applies them at the next boot', async () => {
    const c = client('1');
    const bios = await readRedfishBios(c, signal());
    const rules = await readAttributeRules(c, bios.registry!, signal());
    const plan = planBiosWrite(want({ ProcTurboMode: 'Disabled', PowerOnDelay: '30', SriovEnable: 'false' }), bios, rules);
    await stageRedfishBios(c, bios.settingsPath, plan.write, signal());
    expect(svc.requests.at(-1)).toMatchObject({ method: 'PATCH', url: '/redfish/v1/Systems/1/Bios/Settings', contentType: 'application/json', body: { Attributes: { PowerOnDelay: 30, ProcTurboMode: 'Disabled', SriovEnable: false } } });
    const staged = await readRedfishBios(c, signal());
    expect(staged.pending).toEqual({ PowerOnDelay: 30, ProcTurboMode: 'Disabled', SriovEnable: false });
    expect(staged.attributes.ProcTurboMode).toBe('Enabled');
  });

  it('a value the BMC refuses fails with its own message', async () => {
    const c = client('1');
    await expect(stageRedfishBios(c, '/redfish/v1/Systems/1/Bios/Settings', { ProcTurboMode: 'Off' }, signal())).rejects.toThrow(
      'PATCH /redfish/v1/Systems/1/Bios/Settings: HTTP 400 Bad Request: The value "Off" for the property ProcTurboMode is not in the list of acceptable values.',
    );
    expect(svc.systems['1']!.bios.pending).toEqual({});
  });

  it('a BMC without a registry: no rules, values typed as the actual ones', async () => {
    const c = client('2');
    const bios = await readRedfishBios(c, signal());
    expect(bios.registry).toBeNull();
    const plan = planBiosWrite(want({ PowerOnDelay: '10' }), bios, null);
    await stageRedfishBios(c, bios.settingsPath, plan.write, signal());
    expect(svc.systems['2']!.bios.pending).toEqual({ PowerOnDelay: 10 });
  });
});

describe('the same Bios and Settings as Ironic reads them (sushy)', () => {
  const tmp = tempDir('muster-sushy-');
  afterAll(() => tmp.remove());
  /** sushy's view of System 1's Bios, after staging `attributes` when given. */
  const sushy = async (attributes?: Record<string, unknown>) => {
    const ca = join(tmp.dir, 'ca.pem');
    writeFileSync(ca, svc.cert);
    // requests lets these override the CA file given to sushy.
    const { REQUESTS_CA_BUNDLE: _r, CURL_CA_BUNDLE: _c, ...env } = process.env;
    const args = [join(import.meta.dirname, 'sushy-bios.py'), svc.base, ca, REDFISH_USER, REDFISH_PASSWORD, '1', ...(attributes ? [JSON.stringify(attributes)] : [])];
    const { stdout } = await promisify(execFile)('/usr/bin/python3', args, { env, timeout: 30_000 });
    return JSON.parse(stdout) as { biosVersion: string; attributes: Record<string, unknown>; pending: Record<string, unknown>; applyTimes: string[] };
  };

  it('sushy sees what muster staged, and muster what sushy staged', async () => {
    const c = client('1');
    const bios = await readRedfishBios(c, signal());
    await stageRedfishBios(c, bios.settingsPath, { ProcTurboMode: 'Disabled', PowerOnDelay: 30 }, signal());
    expect(await sushy()).toEqual({ biosVersion: 'U30 v2.54', attributes: bios.attributes, pending: { ProcTurboMode: 'Disabled', PowerOnDelay: 30 }, applyTimes: ['OnReset'] });
    await sushy({ SecureBoot: 'Enabled' });
    expect((await readRedfishBios(c, signal())).pending).toEqual({ ProcTurboMode: 'Disabled', PowerOnDelay: 30, SecureBoot: 'Enabled' });
  }, 60_000);
});
