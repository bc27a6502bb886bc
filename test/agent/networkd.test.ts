/**
 * The node's interfaces as systemd-networkd files: golden files for each form `muster set if.*`
 * takes, and the agent's `network` command reading muster.if= from a captured /proc/cmdline.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelInterfaces } from '../../agent/kernel-interfaces.js';
import { renderNetworkd } from '../../agent/networkd.js';
import { formatKernelInterface, parseInterfaceSetting, type InterfaceConfig } from '../../shared/node-network.js';
import { ensureBuilt } from '../helpers/bundle.js';
import { tempDir } from '../helpers/tmp.js';

/** As `muster set n001 if.<name>=<value>` stores it. */
function iface(name: string, value: string): InterfaceConfig {
  const r = parseInterfaceSetting(name, value);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
const files = (list: InterfaceConfig[]) => Object.fromEntries(renderNetworkd(list).map((f) => [f.name, f.content]));

describe('renderNetworkd', () => {
  it('a static address with gateway and MTU; a DHCP NIC by its MAC', () => {
    expect(files([iface('eth0', '10.1.0.11/16,fd00::11/64,gw=10.1.0.1,mtu=9000'), iface('eth2', 'dhcp,mac=aa:bb:cc:dd:ee:ff')])).toEqual({
      '10-muster-eth0.network': '[Match]\nName=eth0\n\n[Link]\nMTUBytes=9000\n\n[Network]\nAddress=10.1.0.11/16\nAddress=fd00::11/64\nGateway=10.1.0.1\n',
      '10-muster-eth2.network': '[Match]\nMACAddress=aa:bb:cc:dd:ee:ff\n\n[Network]\nDHCP=yes\n',
    });
  });

  it('a bond with its members, the members made as address-less links', () => {
    expect(files([iface('bond0', '10.1.0.11/16,bond=eth0+eth1,mode=802.3ad,mtu=9000')])).toEqual({
      '10-muster-bond0.netdev': '[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=802.3ad\n',
      '10-muster-bond0.network': '[Match]\nName=bond0\n\n[Link]\nMTUBytes=9000\n\n[Network]\nAddress=10.1.0.11/16\n',
      '10-muster-eth0.network': '[Match]\nName=eth0\n\n[Network]\nLinkLocalAddressing=no\nBond=bond0\n',
      '10-muster-eth1.network': '[Match]\nName=eth1\n\n[Network]\nLinkLocalAddressing=no\nBond=bond0\n',
    });
  });

  it('bond members known by MAC are matched by their burned-in MAC (enslaved, they take the bond\'s), with a VLAN on the bond', () => {
    const list = [iface('m1', 'up,mac=52:54:00:21:01:01'), iface('m2', 'up,mac=52:54:00:21:01:02'), iface('bond0', 'dhcp,mtu=1400,bond=m1+m2,mode=active-backup'), iface('bond0.100', '10.9.0.5/24')];
    expect(files(list)).toEqual({
      '10-muster-bond0.netdev': '[NetDev]\nName=bond0\nKind=bond\n\n[Bond]\nMode=active-backup\n',
      '10-muster-bond0.100.netdev': '[NetDev]\nName=bond0.100\nKind=vlan\n\n[VLAN]\nId=100\n',
      '10-muster-m1.network': '[Match]\nPermanentMACAddress=52:54:00:21:01:01\n\n[Network]\nLinkLocalAddressing=no\nBond=bond0\n',
      '10-muster-m2.network': '[Match]\nPermanentMACAddress=52:54:00:21:01:02\n\n[Network]\nLinkLocalAddressing=no\nBond=bond0\n',
      '10-muster-bond0.network': '[Match]\nName=bond0\n\n[Link]\nMTUBytes=1400\n\n[Network]\nDHCP=yes\nVLAN=bond0.100\n',
      '10-muster-bond0.100.network': '[Match]\nName=bond0.100\n\n[Network]\nAddress=10.9.0.5/24\n',
    });
  });

  it('a VLAN on a configured parent: the parent file gets the VLAN line', () => {
    expect(files([iface('eth0', 'dhcp'), iface('eth0.100', '10.2.0.11/24')])).toEqual({
      '10-muster-eth0.100.netdev': '[NetDev]\nName=eth0.100\nKind=vlan\n\n[VLAN]\nId=100\n',
      '10-muster-eth0.network': '[Match]\nName=eth0\n\n[Network]\nDHCP=yes\nVLAN=eth0.100\n',
      '10-muster-eth0.100.network': '[Match]\nName=eth0.100\n\n[Network]\nAddress=10.2.0.11/24\n',
    });
  });

  it('a MAC-only interface (YAML) is named by its MAC; nothing configured, no files', () => {
    expect(Object.keys(files([{ mac: 'aa:bb:cc:dd:ee:01', dhcp: true, addresses: [] }]))).toEqual(['10-muster-aa-bb-cc-dd-ee-01.network']);
    expect(renderNetworkd([])).toEqual([]);
  });
});

describe('kernelInterfaces', () => {
  it('reads every muster.if= (the key repeats) in the grammar the controller writes', () => {
    const list = [iface('eth0', '10.1.0.11/16,gw=10.1.0.1'), iface('bond0', 'dhcp,bond=eth1+eth2')];
    expect(kernelInterfaces(`console=ttyS0 ${list.map(formatKernelInterface).join(' ')} BOOTIF=01-aa-bb-cc-dd-ee-ff`)).toEqual(list);
    expect(() => kernelInterfaces('muster.if=eth0:mtu=5')).toThrow(/kernel command line: muster.if eth0: mtu "5" must be 68-65535/);
  });
});

describe('agent-network.js', () => {
  it('writes the command line interfaces into --out, replacing the files it wrote before and no others', () => {
    ensureBuilt('agent');
    const tmp = tempDir('muster-networkd-');
    try {
      const root = tmp.dir;
      const out = join(root, 'run', 'systemd', 'network');
      mkdirSync(join(root, 'proc'), { recursive: true });
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, '10-muster-old.network'), 'stale');
      writeFileSync(join(out, '80-muster-dhcp.network'), "the image's own");
      writeFileSync(join(root, 'proc', 'cmdline'), `console=ttyS0 ${formatKernelInterface(iface('eth0', 'dhcp,mtu=1400,mac=52:54:00:00:00:21'))}\n`);
      const log = execFileSync(process.execPath, [join('dist', 'agent-network.js'), '--root', root, '--out', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(log).toBe('');
      expect(readdirSync(out).sort()).toEqual(['10-muster-eth0.network', '80-muster-dhcp.network']);
      expect(readFileSync(join(out, '10-muster-eth0.network'), 'utf8')).toBe('[Match]\nMACAddress=52:54:00:00:00:21\n\n[Link]\nMTUBytes=1400\n\n[Network]\nDHCP=yes\n');
    } finally {
      tmp.remove();
    }
  });
});
