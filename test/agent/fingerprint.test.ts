import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SECURE_BOOT_VAR } from '../../agent/fingerprint/firmware.js';
import { readFingerprint, readUptime } from '../../agent/fingerprint/index.js';
import { readNics } from '../../agent/fingerprint/nics.js';
import { SysRoot } from '../../agent/fingerprint/sysfs.js';
import { Fingerprint, parseMessage } from '../../shared/protocol.js';
import { tempDir } from '../helpers/tmp.js';

const fixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', name);

function fingerprintOf(name: string): Fingerprint {
  const fp = readFingerprint(fixture(name));
  const checked = parseMessage(Fingerprint, fp);
  if (!checked.ok) throw new Error(`${name}: fingerprint breaks the schema: ${checked.error}`);
  // What the agent sends must survive JSON unchanged.
  expect(JSON.parse(JSON.stringify(fp))).toEqual(fp);
  return fp;
}

describe('fingerprint of real-virtio-vm (captured from a real VM with test/fixtures/capture.sh)', () => {
  const fp = fingerprintOf('real-virtio-vm');

  it('reports the virtio NIC as physical, ifb devices as virtual, and leaves lo out', () => {
    expect(fp.nics).toEqual([
      { name: 'eth0', mac: '02:fc:00:00:00:01', driver: 'virtio_net', link: 'up', speedMbps: null, virtual: false },
      { name: 'ifb0', mac: '92:81:15:f2:39:49', driver: null, link: 'down', speedMbps: null, virtual: true },
      { name: 'ifb1', mac: '2e:2a:d0:3b:56:c4', driver: null, link: 'down', speedMbps: null, virtual: true },
    ]);
  });

  it('has no DMI (the VM exposes none) and null for each field', () => {
    expect(fp.dmi).toEqual({ vendor: null, product: null, serial: null, uuid: null, biosVersion: null, boardSerial: null });
  });

  it('reads CPU, memory and the virtio disk, skipping loop and zram devices', () => {
    expect(fp.cpu).toEqual({ model: 'AMD EPYC', count: 2 });
    expect(fp.memoryBytes).toBe(24684084 * 1024);
    expect(fp.disks).toEqual([{ name: 'vda', model: null, serial: 'overlayblk', sizeBytes: 536870912 * 512 }]);
  });

  it('has no InfiniBand or BOOTIF', () => {
    expect(fp.ib).toEqual([]);
    expect(fp.bootMac).toBeNull();
  });

  it('booted by BIOS (no sys/firmware/efi): no Secure Boot', () => {
    expect(fp.firmware).toEqual({ bootMode: 'bios', secureBoot: 'disabled' });
  });
});

describe('fingerprint of two-nics-ib (Dell server, two tg3 NICs, two mlx5 HCAs, PXE booted)', () => {
  const fp = fingerprintOf('two-nics-ib');

  it('lists physical NICs with driver, link and speed, the bridge as virtual, IPoIB without an Ethernet MAC', () => {
    expect(fp.nics).toEqual([
      { name: 'br0', mac: 'b0:7b:25:d1:3a:10', driver: null, link: 'up', speedMbps: null, virtual: true },
      { name: 'eno1', mac: 'b0:7b:25:d1:3a:10', driver: 'tg3', link: 'up', speedMbps: 1000, virtual: false },
      { name: 'eno2', mac: 'b0:7b:25:d1:3a:11', driver: 'tg3', link: 'down', speedMbps: null, virtual: false },
      { name: 'ib0', mac: null, driver: 'mlx5_core', link: 'up', speedMbps: 100000, virtual: false },
    ]);
  });

  it('booted by UEFI with Secure Boot on (the efivars SecureBoot variable)', () => {
    expect(fp.firmware).toEqual({ bootMode: 'uefi', secureBoot: 'enabled' });
  });

  it('reads DMI with the UUID lowercased', () => {
    expect(fp.dmi).toEqual({
      vendor: 'Dell Inc.',
      product: 'PowerEdge R650',
      serial: '7XK2QJ3',
      uuid: '4c4c4544-0058-4b10-8032-b7c04f514a33',
      biosVersion: '1.13.2',
      boardSerial: '.7XK2QJ3.CNFCP0023400DJ.',
    });
  });

  it('reads CPU and memory', () => {
    expect(fp.cpu).toEqual({ model: 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz', count: 8 });
    expect(fp.memoryBytes).toBe(263718764 * 1024);
  });

  it('takes disk model/serial from sysfs (NVMe, trimmed) or from udev (SATA), and skips loop and dm', () => {
    expect(fp.disks).toEqual([
      { name: 'nvme0n1', model: 'Dell Ent NVMe P5600 MU U.2 1.6TB', serial: 'PHAB1234005T1P6AGN', sizeBytes: 3125627568 * 512 },
      { name: 'sda', model: 'MZ7L3480HCHQ0D3', serial: 'S6KLNA0T123456', sizeBytes: 937703088 * 512 },
    ]);
  });

  it('takes the port GUID from GID 0, or from node_guid when GID 0 is unset', () => {
    expect(fp.ib).toEqual([
      { device: 'mlx5_0', port: 1, guid: '0c42:a103:007d:8e4a' },
      { device: 'mlx5_1', port: 1, guid: '0c42:a103:007d:8e4b' },
    ]);
  });

  it('reads the boot NIC from BOOTIF=', () => {
    expect(fp.bootMac).toBe('b0:7b:25:d1:3a:10');
  });

  it('reads uptime', () => {
    expect(readUptime(fixture('two-nics-ib'))).toBe(42.17);
  });
});

describe('fingerprint of odd (placeholder DMI, bad bytes, only virtual NICs, ARM, files missing)', () => {
  const fp = fingerprintOf('odd');

  it('turns DMI placeholders into null and replaces a non-UTF-8 byte and a control character', () => {
    expect(fp.dmi).toEqual({
      vendor: null, // "To be filled by O.E.M."
      product: null, // "Default string"
      serial: 'SN-\uFFFD4711', // byte 0xfe
      uuid: null, // all F
      biosVersion: 'V\uFFFD' + 'V'.repeat(254), // BEL replaced, 300 characters capped at 256
      boardSerial: null, // "0123456789"
    });
  });

  it('marks every NIC virtual and copes with a NIC without an address file', () => {
    expect(fp.nics.map((n) => [n.name, n.virtual, n.mac])).toEqual([
      ['br0', true, '6e:3f:0a:11:22:33'],
      ['tun0', true, null],
      ['veth1a2b3c', true, 'ce:01:02:03:04:05'],
    ]);
  });

  it('counts ARM CPUs without a model name; missing meminfo and uptime give 0', () => {
    expect(fp.cpu).toEqual({ model: null, count: 4 });
    expect(fp.memoryBytes).toBe(0);
    expect(readUptime(fixture('odd'))).toBe(0);
  });

  it('keeps the MMC disk (serial from device/serial) and skips loop, ram and zram', () => {
    expect(fp.disks).toEqual([{ name: 'mmcblk0', model: null, serial: '0x1234abcd', sizeBytes: 124735488 * 512 }]);
  });

  it('has no IB or BOOTIF', () => {
    expect(fp.ib).toEqual([]);
    expect(fp.bootMac).toBeNull();
  });
});

describe('fingerprint of an empty root', () => {
  it('is all null/empty, never a crash', () => {
    const fp = fingerprintOf('does-not-exist');
    expect(fp).toEqual({
      nics: [],
      dmi: { vendor: null, product: null, serial: null, uuid: null, biosVersion: null, boardSerial: null },
      cpu: { model: null, count: 0 },
      memoryBytes: 0,
      disks: [],
      ib: [],
      bootMac: null,
      firmware: { bootMode: 'bios', secureBoot: 'disabled' },
    });
  });
});

describe('firmware as the OS sees it', () => {
  const machine = (efivar: number[] | null) => {
    const { dir, remove } = tempDir('muster-efi-');
    mkdirSync(join(dir, 'sys/firmware/efi/efivars'), { recursive: true });
    if (efivar) writeFileSync(join(dir, SECURE_BOOT_VAR), Buffer.from(efivar));
    const fp = readFingerprint(dir);
    remove();
    return fp.firmware;
  };

  it('UEFI with Secure Boot off, and an unreadable variable as unknown', () => {
    expect(machine([0x06, 0, 0, 0, 0])).toEqual({ bootMode: 'uefi', secureBoot: 'disabled' });
    expect(machine(null)).toEqual({ bootMode: 'uefi', secureBoot: null });
    expect(machine([0x06, 0, 0])).toEqual({ bootMode: 'uefi', secureBoot: null });
  });
});

describe('a bond of two NICs with a VLAN on it, as the kernel shows them', () => {
  const { dir, remove } = tempDir('muster-bond-');
  const file = (rel: string, text: string) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), `${text}\n`);
  };
  const net = 'sys/class/net';
  for (const [nic, perm] of [['ens3', '52:54:00:21:00:03'], ['ens4', '52:54:00:21:00:04']] as const) {
    mkdirSync(join(dir, net, nic, 'device'), { recursive: true });
    // While a member, a NIC's address is the bond's.
    file(`${net}/${nic}/address`, '52:54:00:21:00:03');
    file(`${net}/${nic}/bonding_slave/perm_hwaddr`, perm);
    file(`${net}/${nic}/mtu`, '1400');
    symlinkSync('../bond0', join(dir, net, nic, 'master'));
  }
  file(`${net}/bond0/address`, '52:54:00:21:00:03');
  file(`${net}/bond0/bonding/mode`, 'active-backup 1');
  file(`${net}/bond0/mtu`, '1400');
  file(`${net}/bond0.100/address`, '52:54:00:21:00:03');
  file(`${net}/bond0.100/mtu`, '1400');
  file('proc/net/vlan/bond0.100', 'bond0.100  VID: 100\t REORDER_HDR: 1  dev->priv_flags: 1021\n\nDevice: bond0\nINGRESS priority mappings: 0:0');
  const nics = readNics(new SysRoot(dir), new Map([['bond0', ['10.0.2.15/24']], ['bond0.100', ['10.9.0.5/24']]]));
  remove();

  it('reports the members with their own MACs and their bond, the bond with its mode, the VLAN with its parent, and the addresses given', () => {
    expect(nics).toEqual([
      { name: 'bond0', mac: '52:54:00:21:00:03', driver: null, link: 'unknown', speedMbps: null, mtu: 1400, bondMode: 'active-backup', addresses: ['10.0.2.15/24'], virtual: true },
      { name: 'bond0.100', mac: '52:54:00:21:00:03', driver: null, link: 'unknown', speedMbps: null, mtu: 1400, vlan: { id: 100, parent: 'bond0' }, addresses: ['10.9.0.5/24'], virtual: true },
      { name: 'ens3', mac: '52:54:00:21:00:03', driver: null, link: 'unknown', speedMbps: null, mtu: 1400, master: 'bond0', virtual: false },
      { name: 'ens4', mac: '52:54:00:21:00:04', driver: null, link: 'unknown', speedMbps: null, mtu: 1400, master: 'bond0', virtual: false },
    ]);
  });
});
