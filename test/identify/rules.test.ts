import { describe, expect, it } from 'vitest';
import type { Fingerprint, Nic } from '../../shared/protocol.js';
import { identify, SiteIndex, type NodeDefinition, type SiteKnowledge } from '../../controller/identify/rules.js';
import { identifiersOf, switchPortOf } from '../../controller/identify/identifiers.js';

// ---- plain-data builders ----------------------------------------------------------------------

const neighbour = (systemName: string, portId: string) => ({ chassisId: '00:1c:73:00:00:01', portIdType: 'ifname', portId, portDescription: null, systemName });
const nic = (name: string, mac: string | null, virtual = false): Nic => ({ name, mac, driver: virtual ? 'bridge' : 'e1000e', link: 'up', speedMbps: 1000, virtual });

function fingerprint(over: {
  macs?: string[];
  virtualMacs?: string[];
  serial?: string | null;
  boardSerial?: string | null;
  uuid?: string | null;
  guids?: string[];
  lldp?: { switch: string; port: string } | null;
  bootMac?: string | null;
}): Fingerprint {
  const nics = [...(over.macs ?? []).map((m, k) => nic(`eno${k + 1}`, m)), ...(over.virtualMacs ?? []).map((m, k) => nic(`br${k}`, m, true))];
  // The neighbour is heard on the first NIC (a NIC without a MAC when the machine lists none).
  if (over.lldp) {
    const [first = nic('eno1', null), ...rest] = nics;
    nics.splice(0, nics.length, { ...first, lldp: neighbour(over.lldp.switch, over.lldp.port) }, ...rest);
  }
  return {
    nics,
    dmi: { vendor: 'Acme', product: 'X1', serial: over.serial ?? null, uuid: over.uuid ?? null, biosVersion: '1.0', boardSerial: over.boardSerial ?? null },
    cpu: { model: 'Xeon', count: 32 },
    memoryBytes: 64 * 2 ** 30,
    disks: [],
    ib: (over.guids ?? []).map((guid, port) => ({ device: 'mlx5_0', port: port + 1, guid })),
    bootMac: over.bootMac ?? null,
  };
}

const UUID1 = '4c4c4544-0031-3010-8050-b4c04f4a4331';
const UUID2 = '4c4c4544-0031-3010-8050-b4c04f4a4332';
const MAC1 = '52:54:00:00:00:01';
const MAC2 = '52:54:00:00:00:02';
const MAC3 = '52:54:00:00:00:03';
const GUID1 = '0002:c903:0001:2345';

const hello = (agentId: string, fp: Fingerprint) => ({ agentId, fingerprint: fp });
const def = (ids: NodeDefinition['ids'], more: Omit<NodeDefinition, 'ids'> = {}): NodeDefinition => ({ ids, ...more });

function site(over: Partial<SiteKnowledge> = {}): SiteKnowledge {
  return { nodes: {}, agents: {}, liveAgents: new Set(), switchPorts: [], naming: null, ...over };
}

// ---- identifiersOf ------------------------------------------------------------------------------

describe('identifiersOf', () => {
  it('keeps physical NIC MACs and the boot MAC, never virtual NICs, and normalises everything', () => {
    const ids = identifiersOf(
      fingerprint({
        macs: [MAC1, MAC2, '00:00:00:00:00:00'],
        virtualMacs: [MAC3],
        bootMac: MAC1,
        serial: '  abc 123 ',
        uuid: '4C4C4544-0031-3010-8050-B4C04F4A4331',
        guids: [GUID1, '0000:0000:0000:0000'],
        lldp: { switch: ' sw1 ', port: 'Eth1/12' },
      }),
    );
    expect(ids).toEqual({ macs: [MAC1, MAC2], serial: 'ABC 123', uuid: UUID1, ibGuids: [GUID1], switchPort: { switch: 'sw1', port: 'Eth1/12' } });
  });

  it('takes the switch port from the boot NIC first, the port description when the port id is a MAC', () => {
    const fp = fingerprint({ macs: [MAC1, MAC2], bootMac: MAC2 });
    const [eno1, eno2] = fp.nics as [Nic, Nic];
    const heard = (eno2Port: Partial<Nic['lldp']>) => ({ ...fp, nics: [{ ...eno1, lldp: neighbour('leaf1', 'Ethernet1/1') }, { ...eno2, lldp: { ...neighbour('leaf2', 'x'), ...eno2Port } }] });
    expect(switchPortOf(heard({ portId: 'Ethernet1/2' }))).toEqual({ switch: 'leaf2', port: 'Ethernet1/2' });
    expect(switchPortOf(heard({ portIdType: 'mac', portId: '00:1c:73:00:00:02', portDescription: 'Ethernet1/2' }))).toEqual({ switch: 'leaf2', port: 'Ethernet1/2' });
    expect(switchPortOf(heard({ systemName: null, chassisId: '00:1c:73:aa:bb:cc', portId: '7' }))).toEqual({ switch: '00:1c:73:aa:bb:cc', port: '7' });
    expect(switchPortOf({ ...fp, bootMac: null, nics: [eno1, { ...eno2, lldp: neighbour('leaf2', 'Ethernet1/2') }] })).toEqual({ switch: 'leaf2', port: 'Ethernet1/2' });
    expect(switchPortOf(fp)).toBeNull();
  });

  it('drops firmware placeholders for serial and UUID, falling back to the board serial', () => {
    for (const serial of ['To Be Filled By O.E.M.', 'Default string', 'System Serial Number', 'Not Specified', '0123456789', '   ', '0000000']) {
      expect(identifiersOf(fingerprint({ serial })).serial, serial).toBeNull();
    }
    expect(identifiersOf(fingerprint({ serial: 'To be filled by O.E.M.', boardSerial: 'BRD42' })).serial).toBe('BRD42');
    for (const uuid of ['00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', '03000200-0400-0500-0006-000700080009', 'not-a-uuid']) {
      expect(identifiersOf(fingerprint({ uuid })).uuid, uuid).toBeNull();
    }
  });
});

// ---- matching -----------------------------------------------------------------------------------

describe('identify: each identifier kind matches', () => {
  const nodes = {
    n001: def({ uuid: UUID1 }),
    n002: def({ serial: 'SER-2' }),
    n003: def({ macs: [MAC3] }),
    n004: def({ ibGuids: [GUID1] }),
    n005: def({ switchPort: { switch: 'sw2', port: '7' } }),
  };
  const cases: [string, Fingerprint, string, string][] = [
    ['uuid', fingerprint({ uuid: UUID1, macs: ['52:54:00:99:99:99'] }), 'n001', 'uuid'],
    ['serial', fingerprint({ serial: 'ser-2' }), 'n002', 'serial'],
    ['mac', fingerprint({ macs: ['52:54:00:aa:aa:aa', MAC3] }), 'n003', 'mac'],
    ['boot mac', fingerprint({ bootMac: MAC3 }), 'n003', 'mac'],
    ['ib guid', fingerprint({ guids: [GUID1] }), 'n004', 'ib'],
    ['switch port in a definition', fingerprint({ lldp: { switch: 'SW2', port: '7' } }), 'n005', 'switch-port'],
  ];
  it.each(cases)('%s', (_, fp, node, by) => {
    expect(identify(hello('mac-525400999999', fp), site({ nodes }))).toEqual({ kind: 'match', node, by, drift: [], replaces: null });
  });

  it('uses the switch-port map: a new machine on sw1 port 12 becomes the node defined there', () => {
    const s = site({ nodes: { n012: def({}) }, switchPorts: [{ switch: 'sw1', port: 'Ethernet1/12', node: 'n012' }] });
    expect(identify(hello('uuid-x1', fingerprint({ lldp: { switch: 'sw1', port: 'ethernet1/12' } })), s)).toMatchObject({ kind: 'match', node: 'n012', by: 'switch-port' });
    expect(identify(hello('uuid-x1', fingerprint({ lldp: { switch: 'sw1', port: 'Ethernet1/13' } })), s)).toEqual({ kind: 'discovered' });
  });

  it('normalises definitions written in other formats', () => {
    const s = site({
      nodes: {
        a: def({ macs: ['52-54-00-00-00-01'] }),
        b: def({ macs: ['5254.0000.0002'] }),
        c: def({ ibGuids: ['0x0002C90300012345'] }),
        d: def({ uuid: '{4C4C4544003130108050B4C04F4A4332}' }),
      },
    });
    expect(identify(hello('mac-1', fingerprint({ macs: [MAC1] })), s)).toMatchObject({ kind: 'match', node: 'a' });
    expect(identify(hello('mac-2', fingerprint({ macs: ['52:54:00:00:00:02'] })), s)).toMatchObject({ kind: 'match', node: 'b' });
    expect(identify(hello('mac-3', fingerprint({ guids: [GUID1] })), s)).toMatchObject({ kind: 'match', node: 'c', by: 'ib' });
    expect(identify(hello('mac-4', fingerprint({ uuid: UUID2 })), s)).toMatchObject({ kind: 'match', node: 'd', by: 'uuid' });
  });

  it('reports the strongest identifier when several agree', () => {
    const s = site({ nodes: { n001: def({ macs: [MAC1], serial: 'S1', uuid: UUID1 }) } });
    expect(identify(hello('mac-1', fingerprint({ macs: [MAC1], serial: 'S1', uuid: UUID1 })), s)).toMatchObject({ node: 'n001', by: 'uuid' });
    expect(identify(hello('mac-1', fingerprint({ macs: [MAC1], serial: 'S1' })), s)).toMatchObject({ node: 'n001', by: 'serial' });
  });

  it('never matches a virtual NIC', () => {
    const s = site({ nodes: { n001: def({ macs: [MAC1] }) } });
    expect(identify(hello('mac-9', fingerprint({ macs: [MAC2], virtualMacs: [MAC1] })), s)).toEqual({ kind: 'discovered' });
  });

  it('never matches a placeholder serial, even one written into a definition', () => {
    const s = site({ nodes: { n001: def({ serial: 'To Be Filled By O.E.M.' }) } });
    expect(identify(hello('mac-9', fingerprint({ serial: 'To Be Filled By O.E.M.' })), s)).toEqual({ kind: 'discovered' });
  });

  it('refuses a bad definition with the node named', () => {
    expect(() => new SiteIndex(site({ nodes: { n007: def({ macs: ['zz:zz'] }) } }))).toThrow('node n007: bad MAC "zz:zz"');
    expect(() => new SiteIndex(site({ nodes: { n008: def({ uuid: '1234' }) } }))).toThrow('node n008: bad UUID "1234"');
    expect(() => new SiteIndex(site({ nodes: { n009: def({ ibGuids: ['0x12'] }) } }))).toThrow('node n009: bad IB GUID "0x12"');
  });
});

// ---- known agents and bindings -------------------------------------------------------------------

describe('identify: agents already bound', () => {
  const recorded = fingerprint({ macs: [MAC1, MAC2], serial: 'S1', uuid: UUID1, guids: [GUID1] });

  it('a bound agent is known, even when its identifiers would match another node', () => {
    const s = site({
      nodes: { n001: def({}, { agentId: 'uuid-a', fingerprint: recorded }), n002: def({ macs: [MAC1] }) },
      agents: { 'uuid-a': { node: 'n001' } },
    });
    expect(identify(hello('uuid-a', recorded), s)).toEqual({ kind: 'known', node: 'n001', drift: [] });
  });

  it('a binding to a node that no longer exists is ignored', () => {
    const s = site({ nodes: { n002: def({ macs: [MAC1] }) }, agents: { 'uuid-a': { node: 'n001' } } });
    expect(identify(hello('uuid-a', recorded), s)).toMatchObject({ kind: 'match', node: 'n002', by: 'mac' });
  });

  it('an agent that was only discovered is not known', () => {
    const s = site({ agents: { 'uuid-a': { node: null } } });
    expect(identify(hello('uuid-a', recorded), s)).toEqual({ kind: 'discovered' });
  });

  it('rebinding a node whose previous agent is gone names the agent it replaces', () => {
    const s = site({ nodes: { n001: def({ macs: [MAC1] }, { agentId: 'mac-old', fingerprint: recorded }) }, agents: { 'mac-old': { node: 'n001' } } });
    // The same board under another agent id (booted from another NIC): UUID and serial agree.
    const sameBoard = fingerprint({ macs: [MAC1, MAC2], serial: 'S1', uuid: UUID1, guids: [GUID1] });
    expect(identify(hello('mac-new', sameBoard), s)).toEqual({ kind: 'match', node: 'n001', by: 'mac', replaces: 'mac-old', drift: [] });
  });
});

// ---- conflicts --------------------------------------------------------------------------------------

describe('identify: a board that contradicts the node record is a conflict, never a rebind', () => {
  const recorded = fingerprint({ macs: [MAC1, MAC2], serial: 'S1', uuid: UUID1 });
  const boundTo = (agent: string, ids: NodeDefinition['ids'] = { macs: [MAC1] }) =>
    site({ nodes: { n001: def(ids, { agentId: agent, fingerprint: recorded }) }, agents: { [agent]: { node: 'n001' } } });

  it('a new board (UUID and serial differ) claiming the node by its MAC', () => {
    const newBoard = fingerprint({ macs: [MAC1, MAC2], serial: 'S9', uuid: UUID2 });
    expect(identify(hello('uuid-new', newBoard), boundTo('uuid-old'))).toEqual({
      kind: 'conflict',
      nodes: ['n001'],
      reason: `mac ${MAC1} matches n001, but its uuid ${UUID2} is not n001's ${UUID1}`,
    });
  });

  it('a MAC alone, without the UUID and serial the node was bound with', () => {
    expect(identify(hello('mac-rogue', fingerprint({ macs: [MAC1] })), boundTo('uuid-old'))).toEqual({
      kind: 'conflict',
      nodes: ['n001'],
      reason: `mac ${MAC1} matches n001, but it reports no uuid and n001 (bound to uuid-old) has uuid ${UUID1}`,
    });
  });

  it('the serial differs though the UUID agrees', () => {
    const s = boundTo('uuid-old');
    expect(identify(hello('mac-x', fingerprint({ macs: [MAC1], uuid: UUID1, serial: 'S2' })), s)).toMatchObject({ kind: 'conflict', reason: `mac ${MAC1} matches n001, but its serial S2 is not n001's S1` });
  });

  it('a first binding may lack what the definition has, but not contradict it', () => {
    const s = site({ nodes: { n001: def({ macs: [MAC1], serial: 'S1' }) } });
    expect(identify(hello('mac-1', fingerprint({ macs: [MAC1] })), s)).toMatchObject({ kind: 'match', node: 'n001', replaces: null });
    expect(identify(hello('mac-1', fingerprint({ macs: [MAC1], serial: 'S7' })), s)).toMatchObject({ kind: 'conflict', reason: `mac ${MAC1} matches n001, but its serial S7 is not n001's S1` });
  });

  it('the definition is the record before the recorded fingerprint', () => {
    const s = boundTo('uuid-old', { macs: [MAC1], uuid: UUID2 });
    expect(identify(hello('mac-x', fingerprint({ macs: [MAC1], uuid: UUID2, serial: 'S1' })), s)).toMatchObject({ kind: 'match', replaces: 'uuid-old' });
  });
});

// ---- conflicts --------------------------------------------------------------------------------------

describe('identify: conflicts are never merged', () => {
  it('two identifiers pointing at two nodes', () => {
    const s = site({ nodes: { n001: def({ uuid: UUID1 }), n002: def({ macs: [MAC2] }) } });
    expect(identify(hello('mac-1', fingerprint({ uuid: UUID1, macs: [MAC2] })), s)).toEqual({
      kind: 'conflict',
      nodes: ['n001', 'n002'],
      reason: `identifiers match different nodes: uuid ${UUID1} → n001, mac ${MAC2} → n002`,
    });
  });

  it('a switch-port rule disagreeing with a MAC definition', () => {
    const s = site({ nodes: { n001: def({ macs: [MAC1] }), n012: def({}) }, switchPorts: [{ switch: 'sw1', port: '12', node: 'n012' }] });
    expect(identify(hello('mac-1', fingerprint({ macs: [MAC1], lldp: { switch: 'sw1', port: '12' } })), s)).toMatchObject({ kind: 'conflict', nodes: ['n001', 'n012'] });
  });

  it('one identifier defined on two nodes', () => {
    const s = site({ nodes: { n001: def({ macs: [MAC1] }), n002: def({ macs: ['52:54:00:00:00:01'] }) } });
    expect(identify(hello('mac-1', fingerprint({ macs: [MAC1] })), s)).toEqual({ kind: 'conflict', nodes: ['n001', 'n002'], reason: `mac ${MAC1} is defined on several nodes: n001, n002` });
  });

  it('the matched node is bound to another agent that is live: two agents claiming one node', () => {
    const s = site({ nodes: { n001: def({ serial: 'S1' }, { agentId: 'uuid-a' }) }, agents: { 'uuid-a': { node: 'n001' } }, liveAgents: new Set(['uuid-a']) });
    expect(identify(hello('uuid-b', fingerprint({ serial: 'S1' })), s)).toEqual({ kind: 'conflict', nodes: ['n001'], reason: 'serial S1 matches n001, which is bound to live agent uuid-a' });
  });

  it('an agent whose binding was moved to another live agent is a conflict, not known', () => {
    const s = site({ nodes: { n001: def({ serial: 'S1' }, { agentId: 'uuid-b' }) }, agents: { 'uuid-a': { node: 'n001' }, 'uuid-b': { node: 'n001' } }, liveAgents: new Set(['uuid-b']) });
    expect(identify(hello('uuid-a', fingerprint({ serial: 'S1' })), s)).toMatchObject({ kind: 'conflict', nodes: ['n001'] });
  });
});

// ---- drift ----------------------------------------------------------------------------------------

describe('identify: drift against the fingerprint recorded at assignment', () => {
  const recordedAs = { macs: [MAC1, MAC2], serial: 'S1', uuid: UUID1, guids: [GUID1], lldp: { switch: 'sw1', port: '12' } };
  const recorded = fingerprint(recordedAs);
  const bound = (fp: Fingerprint) => identify(hello('mac-525400000001', fp), site({ nodes: { n001: def({}, { agentId: 'mac-525400000001', fingerprint: recorded }) }, agents: { 'mac-525400000001': { node: 'n001' } } }));

  it('reports a swapped NIC, a new board and a changed HCA without blocking known', () => {
    const now = fingerprint({ macs: [MAC1, MAC3], serial: 'S2', uuid: UUID2, guids: ['0002:c903:0001:9999'], lldp: { switch: 'sw1', port: '12' } });
    expect(bound(now)).toEqual({
      kind: 'known',
      node: 'n001',
      drift: [
        { field: 'uuid', was: UUID1, now: UUID2 },
        { field: 'serial', was: 'S1', now: 'S2' },
        { field: 'mac', was: MAC2, now: MAC3 },
        { field: 'ib', was: GUID1, now: '0002:c903:0001:9999' },
      ],
    });
  });

  it('reports a move to another switch port', () => {
    expect(bound(fingerprint({ ...recordedAs, lldp: { switch: 'SW1', port: '13' } }))).toMatchObject({ drift: [{ field: 'switch-port', was: 'sw1 port 12', now: 'sw1 port 13' }] });
  });

  it('is quiet for format-only differences, NICs that only appear or vanish, and absent LLDP', () => {
    expect(bound({ ...recorded, dmi: { ...recorded.dmi, uuid: UUID1.toUpperCase(), serial: ' s1 ' } })).toEqual({ kind: 'known', node: 'n001', drift: [] });
    expect(bound(fingerprint({ macs: [MAC1], serial: 'S1', uuid: UUID1, guids: [] }))).toMatchObject({ drift: [] });
    expect(bound(fingerprint({ macs: [MAC1, MAC2, MAC3], serial: 'S1', uuid: UUID1, guids: [GUID1] }))).toMatchObject({ drift: [] });
  });

  it('reports a serial that became unreadable', () => {
    expect(bound({ ...recorded, dmi: { ...recorded.dmi, serial: 'Default string' } })).toMatchObject({ drift: [{ field: 'serial', was: 'S1', now: null }] });
  });
});

// ---- sequential naming ----------------------------------------------------------------------------

describe('identify: sequential naming', () => {
  const naming = { enabled: true, pattern: 'n[001-004]' };

  it('gives the first name neither defined nor bound, in order', () => {
    const s = site({ naming, nodes: { n001: def({ macs: [MAC1] }) }, agents: { 'mac-a': { node: 'n002' }, 'mac-b': { node: null } } });
    expect(identify(hello('mac-525400000009', fingerprint({ macs: ['52:54:00:00:00:09'] })), s)).toEqual({ kind: 'name', node: 'n003' });
  });

  it('stops with discovered when the range is exhausted', () => {
    const s = site({ naming, nodes: { n001: def({}), n002: def({}), n003: def({}) }, agents: { 'mac-a': { node: 'n004' } } });
    expect(identify(hello('mac-525400000009', fingerprint({})), s)).toEqual({ kind: 'discovered' });
  });

  it('is off unless enabled, and loses to any identifier match', () => {
    expect(identify(hello('mac-x', fingerprint({})), site({ naming: { ...naming, enabled: false } }))).toEqual({ kind: 'discovered' });
    const s = site({ naming, nodes: { n900: def({ macs: [MAC1] }) } });
    expect(identify(hello('mac-x', fingerprint({ macs: [MAC1] })), s)).toMatchObject({ kind: 'match', node: 'n900' });
  });

  it('refuses a bad pattern when the index is built', () => {
    expect(() => new SiteIndex(site({ naming: { enabled: true, pattern: 'n[5-1]' } }))).toThrow('naming rule: noderange "n[5-1]": reversed range "5-1" at column 3');
  });

  it('a reused index gives the same answers as a fresh one', () => {
    const s = site({ naming, nodes: { n001: def({ macs: [MAC1] }) } });
    const index = new SiteIndex(s);
    for (const fp of [fingerprint({ macs: [MAC1] }), fingerprint({ macs: [MAC2] })]) expect(identify(hello('mac-y', fp), index)).toEqual(identify(hello('mac-y', fp), s));
  });
});
