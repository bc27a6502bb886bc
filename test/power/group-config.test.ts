/**
 * Power settings per group from the controller config: a real controller powers a node of group
 * rack1 on the Redfish test service with the user, the password file and the CA file of that
 * group, its target holding neither secret nor `insecure`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerConfig } from '../../controller/config.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { tempDir } from '../helpers/tmp.js';
import { REDFISH_PASSWORD, REDFISH_USER, startRedfishService, type RedfishService } from './redfish-service.js';

describe('power credentials and Redfish CA per group (config file)', () => {
  const tmp = tempDir('muster-power-groups-');
  let svc: RedfishService;
  let c: InProc | undefined;
  const power = (groups: unknown) => ControllerConfig.shape.power.parse({ groups });

  beforeAll(async () => {
    svc = await startRedfishService();
    writeFileSync(join(tmp.dir, 'bmc.pass'), `${REDFISH_PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(join(tmp.dir, 'bmc-ca.pem'), svc.cert);
  });
  afterAll(async () => {
    await c?.stop();
    await svc?.close();
    tmp.remove();
  });

  it('uses the first group with settings: credentials from the password file, TLS checked against the CA file', async () => {
    c = await startInProc({
      power: power({ rack1: { username: REDFISH_USER, passwordFile: join(tmp.dir, 'bmc.pass'), redfishCaFile: join(tmp.dir, 'bmc-ca.pem') } }),
    });
    await c.client.request('define', { range: 'n1', settings: ['groups=compute,rack1', `power=redfish://${svc.base}/Systems/1`] });
    const { results } = await c.client.request('power', { action: 'on', range: 'n1' });
    expect(results).toMatchObject([{ ok: true }]);
    expect(svc.systems['1']?.PowerState).toBe('On');
  });

  it('refuses to start on a missing password file, naming the group and the file', async () => {
    await expect(startInProc({ power: power({ rack1: { username: 'root', passwordFile: join(tmp.dir, 'nope') } }) })).rejects.toThrow(/config power\.groups\.rack1: passwordFile .*nope: ENOENT/);
  });

  it('refuses an inline password: a key the code does not read', () => {
    expect(() => power({ rack1: { username: 'root', password: 'inline' } })).toThrow(/password/);
  });
});
