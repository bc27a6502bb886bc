/** The redfish driver against a DMTF-shaped Redfish service over HTTPS with a self-signed certificate. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PowerError } from '../../controller/power/driver.js';
import { createPowerDriver } from '../../controller/power/registry.js';
import { powerConformance, type SeenCommand } from './conformance.js';
import { REDFISH_PASSWORD as PASSWORD, REDFISH_USER as USER, startRedfishService, type RedfishService } from './redfish-service.js';

/** The ResetTypes the driver sends, as commands. */
const RESET_COMMANDS: Record<string, SeenCommand> = { On: 'on', ForceOff: 'off', ForceRestart: 'reset', PowerCycle: 'cycle' };

let svc: RedfishService;
beforeAll(async () => {
  svc = await startRedfishService();
});
afterAll(async () => {
  await svc?.close();
});

powerConformance('redfish', async () => ({
  node: 'n020',
  target: `redfish://${USER}:${PASSWORD}@${svc.base}/redfish/v1/Systems/1?insecure=1`,
  counterpart: {
    state: async () => (svc.systems['1']?.PowerState === 'On' ? 'on' : 'off'),
    set: async (state) => void (svc.systems['1']!.PowerState = state === 'on' ? 'On' : 'Off'),
    seen: async () =>
      svc.requests.flatMap((r) => {
        const type = (r.body as { ResetType?: string } | undefined)?.ResetType;
        return r.method === 'POST' && r.url === '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset' && type ? (RESET_COMMANDS[type] ?? []) : [];
      }),
    netbootPending: async () => svc.systems['1']!.boot.enabled !== 'Disabled' && svc.systems['1']!.boot.target === 'Pxe',
  },
  hung: { target: `redfish://${USER}:${PASSWORD}@${svc.base}/redfish/v1/Systems/hang?insecure=1`, node: 'n025', inFlight: async () => svc.hanging() },
  wrongCredentials: { target: `redfish://${USER}:wrong-${PASSWORD}@${svc.base}/Systems/1?insecure=1`, secrets: [`wrong-${PASSWORD}`, PASSWORD] },
  close: async () => undefined,
}));

const fail = (p: Promise<unknown>) => p.then(() => expect.unreachable('it succeeded'), (e: unknown) => e as PowerError);

describe('redfish driver specifics', () => {
  beforeEach(() => svc.reset());

  it('refuses a self-signed certificate unless allowed', async () => {
    const err = await fail(createPowerDriver(`redfish://${USER}:${PASSWORD}@${svc.base}/redfish/v1/Systems/1`, 'n020').status());
    expect(err.message).toMatch(/^node n020: redfish power status failed: GET \/redfish\/v1\/Systems\/1: self[- ]signed certificate.*\(use \?insecure=1/);
    expect(svc.requests).toEqual([]); // refused during the TLS handshake, before any credentials were sent
    expect(await createPowerDriver(`redfish://${USER}:${PASSWORD}@${svc.base}/redfish/v1/Systems/1`, 'n020', { insecure: true }).status()).toBe('off');
    expect(await createPowerDriver(`redfish://${USER}:${PASSWORD}@${svc.base}/Systems/1`, 'n020', { ca: svc.cert }).status()).toBe('off');
  });

  it('sends well-formed Reset actions (short URL form, credentials from options)', async () => {
    const d = createPowerDriver(`redfish://${svc.base}/Systems/1?insecure=1`, 'n021', { credentials: { username: USER, password: PASSWORD } });
    await d.on();
    await d.off();
    const posts = svc.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.body)).toEqual([{ ResetType: 'On' }, { ResetType: 'ForceOff' }]);
    for (const p of posts) expect(p).toMatchObject({ url: '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset', contentType: 'application/json', odataVersion: '4.0' });
    expect(svc.requests.every((r) => r.method === 'POST' || r.url === '/redfish/v1/Systems/1')).toBe(true);
  });

  it('uses PowerCycle when cycling natively, and names a ResetType the BMC does not allow', async () => {
    await createPowerDriver(`redfish://${USER}:${PASSWORD}@${svc.base}/redfish/v1/Systems/1?insecure=1&cycle=native`, 'n022').cycle();
    expect(svc.requests.at(-1)?.body).toEqual({ ResetType: 'PowerCycle' });
    const err = await fail(createPowerDriver(`redfish://${USER}:${PASSWORD}@${svc.base}/redfish/v1/Systems/2?insecure=1`, 'n023').reset());
    expect(err.message).toBe('node n023: redfish power reset failed: the BMC does not allow ResetType ForceRestart (allowed: On, ForceOff)');
    expect(svc.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('a wrong password gives the BMC\'s own message', async () => {
    const err = await fail(createPowerDriver(`redfish://${USER}:wrong-${PASSWORD}@${svc.base}/Systems/1?insecure=1`, 'n024').off());
    expect(err.message).toBe('node n024: redfish power off failed: GET /redfish/v1/Systems/1: HTTP 401 Unauthorized: The authentication credentials included with this message are missing or invalid.');
  });

  it('netbootOnce PATCHes the Boot override Once to Pxe, with the mode only where the System has one, and a boot uses it up', async () => {
    const sys1 = createPowerDriver(`redfish://${USER}:${PASSWORD}@${svc.base}/Systems/1?insecure=1`, 'n026');
    await sys1.netbootOnce!('bios');
    await sys1.netbootOnce!(null);
    await sys1.netbootOnce!('uefi');
    // System 2 has no BootSourceOverrideMode: the driver leaves it out, which the System would refuse.
    await createPowerDriver(`redfish://${USER}:${PASSWORD}@${svc.base}/Systems/2?insecure=1`, 'n027').netbootOnce!('uefi');
    const patches = svc.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => [r.url, r.body])).toEqual([
      ['/redfish/v1/Systems/1', { Boot: { BootSourceOverrideEnabled: 'Once', BootSourceOverrideTarget: 'Pxe', BootSourceOverrideMode: 'Legacy' } }],
      ['/redfish/v1/Systems/1', { Boot: { BootSourceOverrideEnabled: 'Once', BootSourceOverrideTarget: 'Pxe' } }],
      ['/redfish/v1/Systems/1', { Boot: { BootSourceOverrideEnabled: 'Once', BootSourceOverrideTarget: 'Pxe', BootSourceOverrideMode: 'UEFI' } }],
      ['/redfish/v1/Systems/2', { Boot: { BootSourceOverrideEnabled: 'Once', BootSourceOverrideTarget: 'Pxe' } }],
    ]);
    for (const p of patches) expect(p).toMatchObject({ contentType: 'application/json', odataVersion: '4.0' });
    await sys1.on();
    await sys1.reset();
    expect(svc.systems['1']!.boot).toMatchObject({ enabled: 'Disabled', mode: 'UEFI', booted: ['Pxe', 'BootOrder'] });
  });

  it('netbootOnce names a BMC that does not allow a Pxe override, before asking it', async () => {
    svc.systems['2']!.boot.targets = ['None', 'Hdd'];
    const d = createPowerDriver(`redfish://${USER}:${PASSWORD}@${svc.base}/Systems/2?insecure=1`, 'n027');
    expect((await fail(d.netbootOnce!(null))).message).toBe('node n027: redfish boot device pxe failed: the BMC does not allow BootSourceOverrideTarget Pxe (allowed: None, Hdd)');
    expect(svc.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
  });
});
