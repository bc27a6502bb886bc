import { describe, expect, it } from 'vitest';
import { identify } from '../../controller/identify/rules.js';
import { listSwitches, lldpMismatch, mapPort, putSwitch } from '../../controller/records/switches.js';
import type { Fingerprint } from '../../shared/protocol.js';
import { storeWith } from './fixtures.js';

const fingerprint = (lldp: { switch: string; port: string }): Fingerprint => ({
  nics: [
    {
      name: 'eth0',
      mac: '52:54:00:aa:bb:cc',
      driver: 'virtio_net',
      link: 'up',
      speedMbps: 1000,
      virtual: false,
      lldp: { chassisId: '00:1c:73:00:00:01', portIdType: 'ifname', portId: lldp.port, portDescription: null, systemName: lldp.switch },
    },
  ],
  dmi: { vendor: null, product: null, serial: null, uuid: null, biosVersion: null, boardSerial: null },
  cpu: { model: null, count: 1 },
  memoryBytes: 0,
  disks: [],
  ib: [],
  bootMac: null,
});

describe('switches (pure)', () => {
  it('adds switches, maps ports (a port holds one cable) and lists them in natural order', () => {
    const data = storeWith({ n001: [], n002: [], n010: [] });
    expect(putSwitch(data, { name: 'leaf1', mgmt: '10.0.0.250', kind: 'arista-7050' }, 1)).toBe(true);
    expect(putSwitch(data, { name: 'leaf1', kind: 'arista-7280' }, 2)).toBe(false);
    mapPort(data, { switch: 'leaf1', port: 'Ethernet1/10', node: 'n010', nic: 'eth0' });
    mapPort(data, { switch: 'leaf1', port: 'Ethernet1/2', node: 'n001', nic: '52-54-00-00-00-01' });
    mapPort(data, { switch: 'leaf1', port: 'Ethernet1/2', node: 'n002' }); // re-cabled
    const [leaf1] = listSwitches(data);
    expect(leaf1).toMatchObject({ name: 'leaf1', mgmt: '10.0.0.250', kind: 'arista-7280' });
    expect(leaf1!.ports).toEqual([
      { port: 'Ethernet1/2', node: 'n002', nic: null },
      { port: 'Ethernet1/10', node: 'n010', nic: 'eth0' },
    ]);
    // The store's switchPorts stays the port → node map identification reads.
    expect(data.switchPorts).toEqual([
      { switch: 'leaf1', port: 'Ethernet1/10', node: 'n010', nic: 'eth0' },
      { switch: 'leaf1', port: 'Ethernet1/2', node: 'n002' },
    ]);
  });

  it('refuses unknown switches and nodes and malformed names', () => {
    const data = storeWith({ n001: [] });
    expect(() => mapPort(data, { switch: 'leaf9', port: '1', node: 'n001' })).toThrow('switch leaf9 is not defined (add it: muster switch add leaf9)');
    putSwitch(data, { name: 'leaf1' }, 1);
    expect(() => mapPort(data, { switch: 'leaf1', port: '1', node: 'n404' })).toThrow('node n404 is not defined');
    expect(() => mapPort(data, { switch: 'leaf1', port: 'a b', node: 'n001' })).toThrow('port "a b" must be 1-64 characters without spaces');
    expect(() => mapPort(data, { switch: 'leaf1', port: '1', node: 'n001', nic: 'eth 0' })).toThrow('nic "eth 0" is neither an interface name (eth0) nor a MAC');
    expect(() => putSwitch(data, { name: 'leaf:1' }, 1)).toThrow('without spaces or ":"');
    expect(() => putSwitch(data, { name: 'leaf2', mgmt: 'http://x' }, 1)).toThrow('mgmt "http://x" is not a host name or IP address');
  });

  it('a mapped port identifies a machine by LLDP through the identification rules', () => {
    const data = storeWith({ n007: [] });
    putSwitch(data, { name: 'leaf1' }, 1);
    mapPort(data, { switch: 'leaf1', port: 'Ethernet1/7', node: 'n007' });
    const decision = identify(
      { agentId: 'mac-525400aabbcc', fingerprint: fingerprint({ switch: 'LEAF1', port: 'ethernet1/7' }) },
      { nodes: data.nodes, switchPorts: data.switchPorts, agents: {}, liveAgents: new Set() },
    );
    expect(decision).toMatchObject({ kind: 'match', node: 'n007', by: 'switch-port' });
  });

  it('lldpMismatch: null when the map agrees, nothing is expected or nothing is reported', () => {
    const data = storeWith({ n001: [], n002: [] });
    putSwitch(data, { name: 'leaf1' }, 1);
    mapPort(data, { switch: 'leaf1', port: 'Ethernet1/1', node: 'n001', nic: 'eth0' });
    data.nodes.n002!.ids.switchPort = { switch: 'leaf2', port: '5' };
    expect(lldpMismatch(data, 'n001', { switch: 'Leaf1', port: 'Ethernet1/1 ' })).toBeNull();
    expect(lldpMismatch(data, 'n001', null)).toBeNull();
    expect(lldpMismatch(storeWith({ n003: [] }), 'n003', { switch: 'leaf1', port: '3' })).toBeNull();
    expect(lldpMismatch(data, 'n001', { switch: 'leaf1', port: 'Ethernet1/9' })).toEqual({
      expected: [{ switch: 'leaf1', port: 'Ethernet1/1' }],
      reported: { switch: 'leaf1', port: 'Ethernet1/9' },
    });
    // The node's own switch= identifier counts as where it is cabled too.
    expect(lldpMismatch(data, 'n002', { switch: 'leaf2', port: '5' })).toBeNull();
    expect(lldpMismatch(data, 'n002', { switch: 'leaf2', port: '6' })?.expected).toEqual([{ switch: 'leaf2', port: '5' }]);
  });
});
