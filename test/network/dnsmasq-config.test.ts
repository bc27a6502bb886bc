import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetworkConfig } from '../../controller/network/config.js';
import { GRUB_CONFIG, renderDhcpHosts, renderDnsmasqConfig } from '../../controller/network/dnsmasq-config.js';
import { InterfaceList } from '../../shared/node-network.js';

/** Golden files: compared as they are; `UPDATE_GOLDEN=1` rewrites them (on purpose only: review the diff). */
const GOLDEN = join(import.meta.dirname, '../fixtures/network');
function golden(name: string, text: string): void {
  const file = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, 'utf8'));
}

const files = { hostsFile: '/var/lib/muster/network/dhcp-hosts', leaseFile: '/var/lib/muster/network/leases', tftpDir: '/var/lib/muster/network/tftp', user: 'muster' };
const dhcp = NetworkConfig.parse({ mode: 'dhcp', interface: 'br0', subnet: '10.99.0.0/24', pool: { start: '10.99.0.100', end: '10.99.0.199' }, router: '10.99.0.1', httpUrl: 'http://10.99.0.1:8080/' });
const proxy = NetworkConfig.parse({ mode: 'proxy', interface: 'eno1', subnet: '192.168.10.7/23', httpUrl: 'http://192.168.10.7:8080' });

const nodes = [
  // Fixed address from the interface with the MAC; a second MAC without an address gets only the name.
  { name: 'n002', macs: ['52:54:00:00:00:02', '52:54:00:00:01:02'], interfaces: InterfaceList.parse([{ mac: '52:54:00:00:00:02', addresses: ['fd00::2/64', '10.1.0.2/16', '10.99.0.12/24'] }]) },
  // An address outside the provisioning subnet is not a fixed address here.
  { name: 'n001', macs: ['52:54:00:00:00:01'], interfaces: InterfaceList.parse([{ mac: '52:54:00:00:00:01', addresses: ['10.1.0.1/16'] }]) },
  // The interface's MAC counts even when the hardware ids do not list it.
  { name: 'n003', macs: [], interfaces: InterfaceList.parse([{ name: 'eth0', mac: '52:54:00:00:00:03', addresses: ['10.99.0.13/24'] }]) },
  // Claims n002's MAC and n003's address: both stay with their first owner.
  { name: 'n004', macs: ['52:54:00:00:00:02', '52:54:00:00:00:04'], interfaces: InterfaceList.parse([{ mac: '52:54:00:00:00:04', addresses: ['10.99.0.13/24'] }]) },
  // Not a host-name label: dnsmasq would refuse the line with the name, so it has the address alone.
  { name: 'rack1.n5', macs: ['52:54:00:00:00:05'], interfaces: InterfaceList.parse([{ mac: '52:54:00:00:00:05', addresses: ['10.99.0.15/24'] }]) },
];

describe('dnsmasq config rendering', () => {
  it('dhcp mode: a pool, fixed addresses by hosts file, loaders by architecture, the script for iPXE, a URL for HTTP boot', () => {
    golden('dnsmasq-dhcp.conf', renderDnsmasqConfig(dhcp, files));
  });

  it('proxy mode: no addresses, PXE services per client system type', () => {
    golden('dnsmasq-proxy.conf', renderDnsmasqConfig(proxy, files));
  });

  it('Secure Boot, dhcp mode: the TFTP root muster fills, shim for UEFI, BIOS and iPXE clients unchanged', () => {
    golden('dnsmasq-dhcp-secureboot.conf', renderDnsmasqConfig({ ...dhcp, secureBoot: true }, files));
  });

  it('Secure Boot, proxy mode: shim as the boot file of the UEFI PXE services', () => {
    golden('dnsmasq-proxy-secureboot.conf', renderDnsmasqConfig({ ...proxy, secureBoot: true }, files));
  });

  it('Secure Boot grub.cfg: the script of the MAC grub booted from, retried', () => {
    golden('grub.cfg', GRUB_CONFIG);
  });

  it('dhcp hosts: one line per MAC, fixed addresses in the subnet, conflicts left to the first node and reported', () => {
    const { text, problems } = renderDhcpHosts(dhcp, nodes);
    golden('dhcp-hosts-dhcp', text);
    expect(problems).toEqual([
      "node n004: MAC 52:54:00:00:00:02 is also node n002's; dnsmasq knows it as n002",
      "node n004: address 10.99.0.13 (MAC 52:54:00:00:00:04) is also node n003's; n004 gets a pool address",
    ]);
  });

  it('proxy hosts: names only, the site server owns the addresses', () => {
    golden('dhcp-hosts-proxy', renderDhcpHosts(proxy, nodes).text);
  });

  it('is the same text for the same input, whatever the node order', () => {
    expect(renderDhcpHosts(dhcp, [...nodes].reverse()).text).toBe(renderDhcpHosts(dhcp, nodes).text);
  });
});

describe('network config', () => {
  const base = { interface: 'br0', subnet: '10.99.0.0/24', httpUrl: 'http://10.99.0.1:8080' };
  const problem = (input: object) => {
    const r = NetworkConfig.safeParse(input);
    return r.success ? null : r.error.issues.map((i) => i.message);
  };

  it('says what is wrong with a section', () => {
    expect(problem({ ...base, mode: 'dhcp' })).toEqual(['mode dhcp needs a pool: { start, end } for machines no node claims']);
    expect(problem({ ...base, mode: 'proxy', pool: { start: '10.99.0.10', end: '10.99.0.20' } })).toEqual(['mode proxy hands out no addresses: drop pool (the site DHCP server owns the addresses)']);
    expect(problem({ ...base, mode: 'dhcp', pool: { start: '10.98.0.10', end: '10.99.0.5' }, router: '10.1.0.1' })).toEqual([
      'pool start 10.98.0.10 is outside the subnet 10.99.0.0/24',
      'router 10.1.0.1 is outside the subnet 10.99.0.0/24',
    ]);
    expect(problem({ ...base, mode: 'dhcp', pool: { start: '10.99.0.50', end: '10.99.0.10' } })).toEqual(['pool start 10.99.0.50 is after its end 10.99.0.10']);
    expect(problem({ ...base, mode: 'dhcp', pool: { start: '10.99.0.1', end: '10.99.0.9' }, leaseTime: '1 hour' })).toEqual(['leaseTime must be seconds, a number with s/m/h/d (like 1h), or "infinite"']);
    expect(problem({ ...base, mode: 'proxy', httpUrl: 'tftp://x' })).toEqual(['httpUrl must be an http:// or https:// URL, like http://10.99.0.1:8080']);
    expect(problem({ ...base, mode: 'proxy', dhcp: true })).not.toBeNull();
  });
});
