import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFingerprint } from '../../agent/fingerprint/index.js';
import { deriveIdentity } from '../../agent/identity.js';
import { AgentId, type Fingerprint, type Nic } from '../../shared/protocol.js';

const nic = (name: string, mac: string | null, virtual = false): Nic => ({ name, mac, driver: virtual ? null : 'ixgbe', link: 'up', speedMbps: null, virtual });
const blank: Fingerprint = {
  nics: [],
  dmi: { vendor: null, product: null, serial: null, uuid: null, biosVersion: null, boardSerial: null },
  cpu: { model: null, count: 1 },
  memoryBytes: 0,
  disks: [],
  ib: [],
  bootMac: null,
};
const withDmi = (dmi: Partial<Fingerprint['dmi']>, rest: Partial<Fingerprint> = {}): Fingerprint => ({ ...blank, ...rest, dmi: { ...blank.dmi, ...dmi } });
const everything = withDmi({ uuid: '4c4c4544-0058-4b10-8032-b7c04f514a33', serial: '7XK2QJ3' }, { bootMac: 'b0:7b:25:d1:3a:11', nics: [nic('eno1', 'b0:7b:25:d1:3a:10')] });

describe('deriveIdentity (most stable hardware identity first)', () => {
  it('prefers a real DMI UUID', () => {
    expect(deriveIdentity(everything)).toEqual({ agentId: 'uuid-4c4c4544-0058-4b10-8032-b7c04f514a33', source: 'dmi-uuid' });
  });

  it('skips a placeholder UUID that slipped through and uses the BOOTIF MAC', () => {
    const fp = { ...everything, dmi: { ...everything.dmi, uuid: '03000200-0400-0500-0006-000700080009' } };
    expect(deriveIdentity(fp)).toEqual({ agentId: 'mac-b07b25d13a11', source: 'boot-mac' });
  });

  it('without UUID and BOOTIF, takes the lowest MAC of a physical NIC, ignoring virtual ones', () => {
    const fp = withDmi({ serial: 'X1' }, { nics: [nic('eno2', 'b0:7b:25:d1:3a:11'), nic('br0', '02:00:00:00:00:01', true), nic('ib0', null), nic('eno1', 'b0:7b:25:d1:3a:10')] });
    expect(deriveIdentity(fp)).toEqual({ agentId: 'mac-b07b25d13a10', source: 'lowest-mac' });
  });

  it('falls back to the DMI serial made topic-safe', () => {
    expect(deriveIdentity(withDmi({ serial: 'SN 12/34+#' }, { nics: [nic('br0', '02:00:00:00:00:01', true)] }))).toEqual({ agentId: 'serial-SN_12_34__', source: 'dmi-serial' });
  });

  it('fails with a clear error when the hardware offers nothing stable', () => {
    expect(() => deriveIdentity(withDmi({ serial: '\uFFFD\uFFFD' }, { nics: [nic('br0', '02:00:00:00:00:01', true)] }))).toThrow(/cannot derive an agent id: no real DMI UUID, no BOOTIF=.*no DMI serial/);
  });

  it.each([
    ['real-virtio-vm', 'mac-02fc00000001', 'lowest-mac'],
    ['two-nics-ib', 'uuid-4c4c4544-0058-4b10-8032-b7c04f514a33', 'dmi-uuid'],
    ['odd', 'serial-SN-_4711', 'dmi-serial'],
  ])('fixture %s is %s (from %s), a valid AgentId', (name, agentId, source) => {
    const identity = deriveIdentity(readFingerprint(join(import.meta.dirname, '..', 'fixtures', name)));
    expect(identity).toEqual({ agentId, source });
    expect(AgentId.safeParse(identity.agentId).success).toBe(true);
  });

  it('ids are always valid AgentIds, even from a long serial', () => {
    const { agentId } = deriveIdentity(withDmi({ serial: 'S'.repeat(256) }));
    expect(AgentId.safeParse(agentId).success).toBe(true);
  });
});
