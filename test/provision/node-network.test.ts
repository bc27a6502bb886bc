import { describe, expect, it } from 'vitest';
import {
  applyNodeSetting,
  formatInterfaces,
  formatKernelInterface,
  parseInterfaces,
  parseInterfaceSetting,
  parseKernelInterface,
  parseNodeSetting,
  type NodeBuildSettings,
  type Result,
} from '../../shared/node-network.js';
import { buildSystemFor, BuildRegistry, BuildSelection } from '../../controller/provision/registry.js';
import { BuildError, type BuildSystem } from '../../controller/provision/types.js';

/** The value of a successful result (the test fails with the error otherwise). */
function value<T>(r: Result<T> | null): T {
  if (!r) throw new Error('the setting was not recognised');
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
const ok = (name: string, setting: string) => value(parseInterfaceSetting(name, setting));
const problem = (name: string, setting: string) => {
  const r = parseInterfaceSetting(name, setting);
  if (r.ok) throw new Error(`if.${name}=${setting} was accepted: ${JSON.stringify(r.value)}`);
  return r.error;
};

describe('if.<name>= (CLI form)', () => {
  it('parses the valid forms', () => {
    expect(ok('eth0', '10.1.0.11/16,gw=10.1.0.1,mtu=9000')).toEqual({ name: 'eth0', dhcp: false, addresses: ['10.1.0.11/16'], gateway: '10.1.0.1', mtu: 9000 });
    expect(ok('bond0', '10.1.0.11/16,bond=eth0+eth1,mode=802.3ad')).toEqual({ name: 'bond0', dhcp: false, addresses: ['10.1.0.11/16'], bond: { members: ['eth0', 'eth1'], mode: '802.3ad' } });
    expect(ok('bond1', 'up,bond=eth2')).toEqual({ name: 'bond1', dhcp: false, addresses: [], bond: { members: ['eth2'], mode: 'active-backup' } });
    expect(ok('eth0', 'dhcp')).toEqual({ name: 'eth0', dhcp: true, addresses: [] });
    expect(ok('eth0', 'dhcp,mac=AA-BB-CC-DD-EE-0F')).toEqual({ name: 'eth0', mac: 'aa:bb:cc:dd:ee:0f', dhcp: true, addresses: [] });
    expect(ok('eth0', '10.1.0.11/16,fd00::11/64,gw=10.1.0.1,gw=fe80::1')).toEqual({
      name: 'eth0', dhcp: false, addresses: ['10.1.0.11/16', 'fd00::11/64'], gateway: '10.1.0.1', gateway6: 'fe80::1',
    });
  });

  it('spells a VLAN two ways, one result', () => {
    const vlan = { name: 'eth0.100', dhcp: false, addresses: ['10.2.0.11/24'], vlan: { id: 100, parent: 'eth0' } };
    expect(ok('eth0.100', '10.2.0.11/24')).toEqual(vlan);
    expect(ok('eth0', '10.2.0.11/24,vlan=100')).toEqual(vlan);
    expect(ok('eth0.100', '10.2.0.11/24,vlan=100')).toEqual(vlan);
  });

  it('names the field of every invalid value', () => {
    expect(problem('eth0', '10.1.0.11/16,mtu=90000')).toBe('if.eth0: mtu "90000" must be 68-65535');
    expect(problem('eth0', 'mtu=67')).toBe('if.eth0: mtu "67" must be 68-65535');
    expect(problem('eth0', 'mtu=big')).toBe('if.eth0: mtu "big" must be 68-65535');
    expect(problem('eth0', '10.1.0.300/16')).toMatch(/^if\.eth0: address "10\.1\.0\.300\/16" must be an IPv4 or IPv6 address with a prefix/);
    expect(problem('eth0', '10.1.0.11')).toMatch(/^if\.eth0: address "10\.1\.0\.11" must be/);
    expect(problem('eth0', '10.1.0.11/33')).toMatch(/^if\.eth0: address "10\.1\.0\.11\/33"/);
    expect(problem('eth0', '10.1.0.11/16,gw=10.1.0')).toBe('if.eth0: gateway "10.1.0" must be an IPv4 address');
    expect(problem('eth0', '10.1.0.11/16,gw=10.2.0.1')).toBe('if.eth0: gateway "10.2.0.1" is outside every IPv4 subnet of the interface (10.1.0.11/16)');
    expect(problem('eth0', 'gw=10.1.0.1')).toBe('if.eth0: gateway "10.1.0.1" needs an IPv4 address on the interface');
    expect(problem('eth0', 'gw=fd00::zz')).toBe('if.eth0: gateway6 "fd00::zz" must be an IPv6 address');
    expect(problem('eth0', 'vlan=4095')).toBe('if.eth0: vlan "4095" must be 1-4094');
    expect(problem('eth0', 'vlan=x')).toBe('if.eth0: vlan "x" must be 1-4094');
    expect(problem('enp0s31f6abcdef', 'vlan=100')).toBe('if.enp0s31f6abcdef: vlan interface name "enp0s31f6abcdef.100" is longer than 15 characters');
    expect(problem('eth0.5000', 'up')).toBe('if.eth0.5000: vlan "5000" (from the name "eth0.5000") must be 1-4094');
    expect(problem('bond0', 'bond=eth0+eth1,mode=fast')).toBe('if.bond0: bond mode "fast" must be one of balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb');
    expect(problem('bond0', 'bond=eth0+bad/name')).toBe('if.bond0: bond member "bad/name" must be an interface name of 1-15 letters, digits, "_", "." or "-"');
    expect(problem('bond0', 'bond=bond0+eth1')).toBe('if.bond0: bond "bond0" cannot be its own member');
    expect(problem('eth0', 'mode=802.3ad')).toBe('if.eth0: mode "802.3ad" needs bond=MEMBER+MEMBER');
    expect(problem('eth0', 'bond=eth1,vlan=10')).toBe('if.eth0: vlan and bond cannot be combined: configure the VLAN as its own interface on top of the bond');
    expect(problem('eth0', 'mac=aa:bb')).toBe('if.eth0: mac "aa:bb" must be a MAC address like aa:bb:cc:dd:ee:ff');
    expect(problem('eth0', 'mtu=1500,mtu=9000')).toBe('if.eth0: mtu is given twice');
    expect(problem('eth0', 'speed=10G')).toMatch(/^if\.eth0: unknown key "speed"/);
    expect(problem('eth0', '10.1.0.11/16,,mtu=9000')).toBe('if.eth0: empty item in "10.1.0.11/16,,mtu=9000"');
    expect(problem('averyveryverylongname', 'dhcp')).toBe('if.averyveryverylongname: name "averyveryverylongname" must be an interface name of 1-15 letters, digits, "_", "." or "-"');
  });

  it('round-trips through muster show and muster set', () => {
    const lines = formatInterfaces([ok('eth0', '10.1.0.11/16,gw=10.1.0.1,mtu=9000'), ok('bond0', 'dhcp,bond=eth1+eth2,mode=802.3ad'), ok('eth1', 'up')]);
    expect(lines).toEqual(['if.eth0=10.1.0.11/16,gw=10.1.0.1,mtu=9000', 'if.bond0=dhcp,bond=eth1+eth2,mode=802.3ad', 'if.eth1=up']);
    for (const line of lines) {
      const [key, value] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
      const r = parseNodeSetting(key, value);
      expect(r?.ok, line).toBe(true);
    }
  });
});

describe('muster.if= (kernel command line)', () => {
  it('uses the CLI grammar after <name>: and round-trips', () => {
    const cases = [ok('eth0', '10.1.0.11/16,gw=10.1.0.1'), ok('eth0.100', 'fd00::11/64,gw=fe80::1,mtu=1500'), ok('bond0', '10.1.0.11/16,bond=eth0+eth1,mode=802.3ad'), ok('eth1', 'up')];
    expect(formatKernelInterface(cases[0]!)).toBe('muster.if=eth0:10.1.0.11/16,gw=10.1.0.1');
    for (const c of cases) {
      const param = formatKernelInterface(c).slice('muster.if='.length);
      expect(parseKernelInterface(param)).toEqual({ ok: true, value: c });
    }
  });

  it('labels a MAC-only interface by its MAC with dashes', () => {
    const iface = value(parseInterfaces([{ mac: 'aa:bb:cc:dd:ee:ff', dhcp: true }]))[0]!;
    expect(formatKernelInterface(iface)).toBe('muster.if=aa-bb-cc-dd-ee-ff:dhcp');
    expect(parseKernelInterface('aa-bb-cc-dd-ee-ff:dhcp')).toEqual({ ok: true, value: { mac: 'aa:bb:cc:dd:ee:ff', dhcp: true, addresses: [] } });
    expect(parseKernelInterface('eth0')).toEqual({ ok: false, error: 'muster.if: "eth0" must be <name>:<settings>' });
    expect(parseKernelInterface('eth0:mtu=1')).toEqual({ ok: false, error: 'muster.if eth0: mtu "1" must be 68-65535' });
  });
});

describe('YAML form', () => {
  it('accepts a list of interfaces by name or MAC', () => {
    const r = parseInterfaces([
      { name: 'eth0', addresses: ['10.1.0.11/16'], gateway: '10.1.0.1', mtu: 9000 },
      { name: 'eth0', vlan: 100, addresses: ['10.2.0.11/24'] },
      { name: 'bond0', dhcp: true, bond: { members: ['eth1', 'eth2'], mode: '802.3ad' } },
      { mac: 'AA:BB:CC:DD:EE:FF', dhcp: true },
    ]);
    expect(r).toEqual({
      ok: true,
      value: [
        { name: 'eth0', dhcp: false, addresses: ['10.1.0.11/16'], gateway: '10.1.0.1', mtu: 9000 },
        { name: 'eth0.100', dhcp: false, addresses: ['10.2.0.11/24'], vlan: { id: 100, parent: 'eth0' } },
        { name: 'bond0', dhcp: true, addresses: [], bond: { members: ['eth1', 'eth2'], mode: '802.3ad' } },
        { mac: 'aa:bb:cc:dd:ee:ff', dhcp: true, addresses: [] },
      ],
    });
  });

  it('validated data validates again to itself (stores and files re-check what they load)', () => {
    const list = value(parseInterfaces([
      { name: 'eth0', vlan: 100, addresses: ['10.2.0.11/24'] },
      { name: 'bond0', dhcp: true, bond: { members: ['eth1'] } },
      { mac: 'AA-BB-CC-DD-EE-FF', mtu: 1500 },
    ]));
    expect(parseInterfaces(JSON.parse(JSON.stringify(list)))).toEqual({ ok: true, value: list });
    expect(parseInterfaces([{ name: 'eth9', vlan: { id: 100, parent: 'eth0' } }])).toEqual({ ok: false, error: 'interfaces.0: name "eth9" must be "eth0.100" for VLAN 100 on eth0' });
  });

  it('names the entry and the field of a problem', () => {
    expect(parseInterfaces([{ name: 'eth0' }, { name: 'eth1', mtu: 90000 }])).toEqual({ ok: false, error: 'interfaces.1: mtu "90000" must be 68-65535' });
    expect(parseInterfaces([{ name: 'eth0', speed: 10 }])).toEqual({ ok: false, error: 'interfaces.0: interface has unknown key "speed" (known: name, mac, dhcp, addresses, gateway, gateway6, mtu, vlan, bond)' });
    expect(parseInterfaces([{ dhcp: true }])).toEqual({ ok: false, error: 'interfaces.0: an interface needs a name or a mac' });
    expect(parseInterfaces([{ name: 'eth0' }, { name: 'eth0' }])).toEqual({ ok: false, error: 'interfaces: interface "eth0" is listed twice' });
    expect(parseInterfaces([{ name: 'eth0', addresses: '10.1.0.11/16' }])).toEqual({ ok: false, error: 'interfaces.0: addresses "10.1.0.11/16" must be a list of CIDR addresses' });
    expect(parseInterfaces([{ name: 'b0', bond: { members: [] } }])).toEqual({ ok: false, error: 'interfaces.0: bond needs at least one member' });
    expect(parseInterfaces({ eth0: {} })).toEqual({ ok: false, error: 'interfaces: interfaces "{"eth0":{}}" must be a list' });
  });
});

describe('muster set: parseNodeSetting / applyNodeSetting', () => {
  const empty: NodeBuildSettings = { image: null, tags: [], interfaces: [] };

  it('parses image=, tags= and if.*= into patches and applies them', () => {
    let node = empty;
    for (const [k, v] of [['image', 'rocky9'], ['tags', 'gpu,rack1,gpu'], ['if.eth0', '10.1.0.11/16'], ['if.eth1', 'dhcp'], ['if.eth0', '10.1.0.12/16']] as const) {
      node = applyNodeSetting(node, value(parseNodeSetting(k, v)));
    }
    expect(node).toEqual({
      image: 'rocky9',
      tags: ['gpu', 'rack1'],
      interfaces: [{ name: 'eth0', dhcp: false, addresses: ['10.1.0.12/16'] }, { name: 'eth1', dhcp: true, addresses: [] }],
    });
    const removed = applyNodeSetting(node, value(parseNodeSetting('if.eth0', '')));
    expect(removed.interfaces.map((i) => i.name)).toEqual(['eth1']);
    expect(applyNodeSetting(node, value(parseNodeSetting('image', ''))).image).toBeNull();
  });

  it('refuses bad values naming the setting, and leaves other keys to the caller', () => {
    expect(parseNodeSetting('image', 'a/b')).toEqual({ ok: false, error: 'image: "a/b": image id must start with a letter or digit and hold only letters, digits, "_", "." and "-" (max 64)' });
    expect(parseNodeSetting('tags', 'gpu,a b')).toEqual({ ok: false, error: 'tags: "a b": tag must start with a letter or digit and hold only letters, digits, "_", ".", ":" and "-" (max 64)' });
    expect(parseNodeSetting('if.eth0', 'mtu=90000')).toEqual({ ok: false, error: 'if.eth0: mtu "90000" must be 68-65535' });
    expect(parseNodeSetting('if.', '')).toEqual({ ok: false, error: 'if.: name "" must be an interface name of 1-15 letters, digits, "_", "." or "-"' });
    expect(parseNodeSetting('power', 'ipmi://h')).toBeNull();
  });
});

describe('build system selection per group', () => {
  const fake = (name: string): BuildSystem => ({
    name,
    capabilities: [],
    images: async () => [],
    configure: async () => undefined,
    prepare: async () => undefined,
    status: async () => ({ state: 'idle' }),
    release: async () => undefined,
    close: async () => undefined,
  });
  const registry = new BuildRegistry([fake('netboot'), fake('command')]);
  const selection = BuildSelection.parse({ default: 'netboot', groups: { legacy: 'command', rack1: 'netboot' } });

  it('picks by group, else the default', () => {
    expect(buildSystemFor('n001', ['rack1'], selection, registry).name).toBe('netboot');
    expect(buildSystemFor('n002', ['all', 'legacy'], selection, registry).name).toBe('command');
    expect(buildSystemFor('n003', ['other'], selection, registry).name).toBe('netboot');
  });

  it('refuses disagreeing groups, unknown systems and a missing default, naming the node', () => {
    expect(() => buildSystemFor('n004', ['rack1', 'legacy'], selection, registry)).toThrow('node n004: groups disagree on the build system (rack1 → netboot, legacy → command)');
    expect(() => buildSystemFor('n005', ['x'], BuildSelection.parse({}), registry)).toThrow('node n005: no build system for groups [x] and no build.default');
    expect(() => registry.check(BuildSelection.parse({ groups: { gpu: 'xcat' } }))).toThrow(BuildError);
    expect(() => registry.check(BuildSelection.parse({ groups: { gpu: 'xcat' } }))).toThrow('build.groups.gpu: build system "xcat" is not registered (registered: netboot, command)');
    expect(() => new BuildRegistry([fake('a'), fake('a')])).toThrow('build system "a" is registered twice');
  });
});
