/**
 * `muster bios apply` end to end: a real controller process (credentials and CA of group rack1
 * from its config file) and the real CLI against the Redfish test service: the drift is read from
 * the BMCs, apply stages it in Bios/Settings (pending), a power reset through Redfish applies it,
 * and then nothing differs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { tempDir } from '../helpers/tmp.js';
import { REDFISH_PASSWORD, REDFISH_USER, startRedfishService, type RedfishService } from '../power/redfish-service.js';

const tmp = tempDir('muster-bios-apply-');
let svc: RedfishService;
let c: ControllerProc;

beforeAll(async () => {
  svc = await startRedfishService();
  writeFileSync(join(tmp.dir, 'bmc.pass'), `${REDFISH_PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(join(tmp.dir, 'bmc-ca.pem'), svc.cert);
  const config = join(tmp.dir, 'muster.yaml');
  writeFileSync(
    config,
    ['power:', '  pollIntervalS: 0', '  groups:', '    rack1:', `      username: ${REDFISH_USER}`, `      passwordFile: ${join(tmp.dir, 'bmc.pass')}`, `      redfishCaFile: ${join(tmp.dir, 'bmc-ca.pem')}`, ''].join('\n'),
  );
  c = await startControllerProc(['--config', config], { env: { MUSTER_LOG_LEVEL: 'warn' } });
}, 60_000);
afterAll(async () => {
  await c?.stop();
  await svc?.close();
  tmp.remove();
});

const muster = (...args: string[]) => c.cli(args, { allowFail: true });

describe('muster bios apply through a Redfish BMC', () => {
  it('apply → pending → power reset through Redfish → the actual settings match', async () => {
    const site = join(tmp.dir, 'rack1.yaml');
    writeFileSync(
      site,
      [
        'nodes:',
        `  - {name: n001, groups: [rack1, compute], power: "redfish://${svc.base}/Systems/1"}`,
        `  - {name: n002, groups: [rack1], power: "redfish://${svc.base}/Systems/2"}`,
        '  - {name: n003, groups: [compute], power: "sim://"}',
        'bios:',
        '  groups: {compute: {ProcTurboMode: Disabled, PowerOnDelay: "30", version: U30 v2.54}}',
        '  nodes: {n002: {SriovEnable: "false"}}',
        '',
      ].join('\n'),
    );
    await c.cli(['import', site]);

    const before = await muster('bios', 'diff', 'n[001-002]');
    expect(before.stdout.split('\n').map((l) => l.trimEnd())).toEqual([
      'NODE  KEY            DESIRED   ACTUAL   PENDING  FROM',
      'n001  PowerOnDelay   30        0        -        group compute',
      'n001  ProcTurboMode  Disabled  Enabled  -        group compute',
      'n002  SriovEnable    false     true     -        node n002',
      '2 node(s) differ, 0 match',
      '',
    ]);

    const apply = await muster('bios', 'apply', 'n[001-003]');
    expect(apply.code).toBe(1);
    expect(apply.stdout).toBe(
      'n001: PowerOnDelay=30 ProcTurboMode=Disabled pending until the next reset\nn002: SriovEnable=false pending until the next reset\nn003: failed: BIOS settings are written through a Redfish BMC; its power target is sim://\n',
    );
    expect(apply.stderr).toBe('2 ok, 1 failed: n003 BIOS settings are written through a Redfish BMC; its power target is sim://\n');
    expect(svc.systems['1']!.bios.pending).toEqual({ PowerOnDelay: 30, ProcTurboMode: 'Disabled' });
    expect(svc.systems['2']!.bios.pending).toEqual({ SriovEnable: false });
    // A second apply has nothing left to write: the pending values are the desired ones.
    const again = await muster('bios', 'apply', 'n[001-002]', '--json');
    expect(JSON.parse(again.stdout)).toEqual([
      { node: 'n001', ok: true, written: {} },
      { node: 'n002', ok: true, written: {} },
    ]);

    const pending = await muster('bios', 'diff', 'n[001-002]');
    expect(pending.stdout).toMatch(/^n001 +PowerOnDelay +30 +0 +30 +group compute$/m);
    expect(pending.stdout).toMatch(/^n002 +SriovEnable +false +true +false +node n002$/m);
    expect(pending.stdout).toMatch(/^2 node\(s\) differ \(2 only until the next reset\), 0 match$/m);

    // System 1 restarts; System 2 allows no restart: off, then on boots it.
    await c.cli(['power', 'reset', 'n001']);
    await c.cli(['power', 'cycle', 'n002']);
    const after = await muster('bios', 'diff', 'n[001-002]');
    expect(after).toMatchObject({ code: 0, stdout: expect.stringMatching(/\n0 node\(s\) differ, 2 match\n$/), stderr: '' });
    expect(svc.systems['1']!.bios).toMatchObject({ attributes: { PowerOnDelay: 30, ProcTurboMode: 'Disabled' }, pending: {} });
    expect(svc.systems['2']!.bios).toMatchObject({ attributes: { SriovEnable: false }, pending: {} });
  }, 180_000);

  it('writes nothing to a node when the BMC\'s registry refuses any of its values, naming each', async () => {
    await c.cli(['bios', 'set', 'n001', 'ProcTurboMode=Off', 'SMT=on']);
    const patches = () => svc.requests.filter((r) => r.method === 'PATCH').length;
    const sent = patches();
    const r = await muster('bios', 'apply', 'n001');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('0 ok, 1 failed: n001 redfish bios apply failed: nothing written: ProcTurboMode (from node n001): "Off" is not one of Enabled, Disabled; SMT (from node n001): the BMC has no such BIOS attribute\n');
    expect(patches()).toBe(sent);
  }, 60_000);

  it('diff names a BMC it cannot read and shows its last reading', async () => {
    await c.cli(['set', 'n002', `power=redfish://${svc.base}/Systems/9`]);
    const r = await muster('bios', 'diff', 'n002');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('node n002: redfish bios read failed: GET /redfish/v1/Systems/9: HTTP 404 Not Found: no resource /redfish/v1/Systems/9 (showing its last reading)\n');
    expect(r.stdout).toBe('NODE  KEY  DESIRED  ACTUAL  PENDING  FROM\n0 node(s) differ, 1 match\n');
  }, 60_000);
});
