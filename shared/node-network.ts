/**
 * The node configuration the build layer needs: boot image, tags and network interfaces.
 * Used by the CLI (`muster set`, `muster show`), the controller (store, build systems) and the
 * kernel command line a build image receives (`muster.if=`). docs/build-systems.md documents the
 * CLI form, the YAML form and the command-line form; keep them together.
 *
 * One grammar for interfaces everywhere: the CLI value `10.1.0.11/16,gw=10.1.0.1,mtu=9000` is also
 * what follows `<name>:` in `muster.if=`, so the agent in the boot image parses it with this module.
 */
import { z } from 'zod';
import { normalizeMac } from './protocol.js';
import { parseDiskRule } from './disk-rule.js';

// ---- opaque ids ----------------------------------------------------------------------------------

/** Image ids appear in URLs (`/images/<id>/kernel`) and file names: a safe charset, nothing more. */
export const ImageId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'image id must start with a letter or digit and hold only letters, digits, "_", "." and "-" (max 64)');
export const Tag = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'tag must start with a letter or digit and hold only letters, digits, "_", ".", ":" and "-" (max 64)');
export type ImageId = z.infer<typeof ImageId>;
export type Tag = z.infer<typeof Tag>;

// ---- one network interface -----------------------------------------------------------------------

/** Linux interface names: at most 15 bytes; no characters our grammars use as separators. */
export const IF_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
export const BOND_MODES = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'] as const;

const said = (v: unknown) => `"${typeof v === 'string' ? v : JSON.stringify(v)}"`;
const ifName = (field: string) =>
  z.string({ error: (i) => `${field} ${said(i.input)} must be an interface name` }).regex(IF_NAME, { error: (i) => `${field} ${said(i.input)} must be an interface name of 1-15 letters, digits, "_", "." or "-"` });
/** Unknown keys are named (a typo in YAML should say which key); anything else is "not an object". */
function objectProblem(what: string, issue: { code?: string; input?: unknown; keys?: string[] }, known: string): string {
  if (issue.code === 'unrecognized_keys') return `${what} has unknown key${issue.keys!.length > 1 ? 's' : ''} ${issue.keys!.map((k) => `"${k}"`).join(', ')} (known: ${known})`;
  return `${what} ${said(issue.input)} must be an object with ${known}`;
}
const cidr = z.union([z.cidrv4(), z.cidrv6()], { error: (i) => `address ${said(i.input)} must be an IPv4 or IPv6 address with a prefix, like 10.1.0.11/16 or fd00::11/64` });
const mtu = z
  .number({ error: (i) => `mtu ${said(i.input)} must be 68-65535` })
  .int({ error: (i) => `mtu ${said(i.input)} must be 68-65535` })
  .min(68, { error: (i) => `mtu ${said(i.input)} must be 68-65535` })
  .max(65535, { error: (i) => `mtu ${said(i.input)} must be 68-65535` });
const vlanId = z
  .number({ error: (i) => `vlan ${said(i.input)} must be 1-4094` })
  .int({ error: (i) => `vlan ${said(i.input)} must be 1-4094` })
  .min(1, { error: (i) => `vlan ${said(i.input)} must be 1-4094` })
  .max(4094, { error: (i) => `vlan ${said(i.input)} must be 1-4094` });

/**
 * One interface as written in YAML (and produced by the CLI parser). A VLAN interface is always
 * named `<parent>.<id>`: `name: eth0.100` alone, or `name: eth0` with `vlan: 100`, both mean VLAN
 * 100 on eth0, so there is one canonical form and the kernel command line can carry it.
 */
const InterfaceInput = z
  .object(
    {
      name: ifName('name').optional(),
      mac: z.string({ error: (i) => `mac ${said(i.input)} must be a MAC address` }).transform((raw, ctx) => {
        const mac = normalizeMac(raw);
        if (!mac) ctx.addIssue({ code: 'custom', message: `mac ${said(raw)} must be a MAC address like aa:bb:cc:dd:ee:ff` });
        return mac ?? raw;
      }).optional(),
      dhcp: z.boolean({ error: (i) => `dhcp ${said(i.input)} must be true or false` }).default(false),
      addresses: z.array(cidr, { error: (i) => `addresses ${said(i.input)} must be a list of CIDR addresses` }).max(16, 'at most 16 addresses').default([]),
      gateway: z.ipv4({ error: (i) => `gateway ${said(i.input)} must be an IPv4 address` }).optional(),
      gateway6: z.ipv6({ error: (i) => `gateway6 ${said(i.input)} must be an IPv6 address` }).optional(),
      mtu: mtu.optional(),
      /** The id (input form), or `{id, parent}` (the validated form, so validated data re-validates). */
      vlan: z.union([vlanId, z.object({ id: vlanId, parent: ifName('vlan parent') }).strict()], { error: (i) => `vlan ${said(i.input)} must be 1-4094` }).optional(),
      bond: z
        .object({
          members: z.array(ifName('bond member'), { error: (i) => `bond members ${said(i.input)} must be a list of interface names` }).min(1, 'bond needs at least one member').max(16, 'at most 16 bond members'),
          mode: z.enum(BOND_MODES, { error: (i) => `bond mode ${said(i.input)} must be one of ${BOND_MODES.join(', ')}` }).default('active-backup'),
        }, { error: (i) => objectProblem('bond', i, 'members, mode') })
        .strict()
        .optional(),
    },
    { error: (i) => objectProblem('interface', i, 'name, mac, dhcp, addresses, gateway, gateway6, mtu, vlan, bond') },
  )
  .strict();

export const InterfaceConfig = InterfaceInput.transform((raw, ctx) => {
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  if (!raw.name && !raw.mac) return fail('an interface needs a name or a mac');
  let name = raw.name;
  let vlan: { id: number; parent: string } | undefined;
  const dotted = name?.match(/^(.+)\.(\d+)$/);
  if (typeof raw.vlan === 'object') vlan = raw.vlan;
  else if (raw.vlan !== undefined) {
    if (!name) return fail(`vlan "${raw.vlan}" needs an interface name (the VLAN's parent)`);
    vlan = dotted && Number(dotted[2]) === raw.vlan ? { id: raw.vlan, parent: dotted[1]! } : { id: raw.vlan, parent: name };
  } else if (dotted) {
    const id = Number(dotted[2]);
    if (id < 1 || id > 4094) return fail(`vlan "${dotted[2]}" (from the name "${name}") must be 1-4094`);
    vlan = { id, parent: dotted[1]! };
  }
  if (vlan) {
    const vlanName = `${vlan.parent}.${vlan.id}`;
    if (typeof raw.vlan === 'object' && name && name !== vlanName) return fail(`name "${name}" must be "${vlanName}" for VLAN ${vlan.id} on ${vlan.parent}`);
    if (!IF_NAME.test(vlanName)) return fail(`vlan interface name "${vlanName}" is longer than 15 characters`);
    name = vlanName;
  }
  if (vlan && raw.bond) return fail('vlan and bond cannot be combined: configure the VLAN as its own interface on top of the bond');
  if (raw.bond && name && raw.bond.members.includes(name)) return fail(`bond "${name}" cannot be its own member`);
  const v4 = raw.addresses.filter((a) => !a.includes(':'));
  const v6 = raw.addresses.filter((a) => a.includes(':'));
  if (raw.gateway) {
    if (!v4.length && !raw.dhcp) return fail(`gateway "${raw.gateway}" needs an IPv4 address on the interface`);
    if (v4.length && !v4.some((a) => inSubnet(raw.gateway!, a))) return fail(`gateway "${raw.gateway}" is outside every IPv4 subnet of the interface (${v4.join(', ')})`);
  }
  if (raw.gateway6 && !v6.length && !raw.dhcp) return fail(`gateway6 "${raw.gateway6}" needs an IPv6 address on the interface`);
  const out: InterfaceConfig = { dhcp: raw.dhcp, addresses: raw.addresses };
  if (name) out.name = name;
  if (raw.mac) out.mac = raw.mac;
  if (raw.gateway) out.gateway = raw.gateway;
  if (raw.gateway6) out.gateway6 = raw.gateway6;
  if (raw.mtu !== undefined) out.mtu = raw.mtu;
  if (vlan) out.vlan = vlan;
  if (raw.bond) out.bond = { members: raw.bond.members, mode: raw.bond.mode };
  return out;
});

/** A validated interface: `vlan` names the parent explicitly; a VLAN's name is `<parent>.<id>`. */
export interface InterfaceConfig {
  name?: string;
  mac?: string;
  dhcp: boolean;
  addresses: string[];
  gateway?: string;
  gateway6?: string;
  mtu?: number;
  vlan?: { id: number; parent: string };
  bond?: { members: string[]; mode: (typeof BOND_MODES)[number] };
}
/** What a YAML file or a JSON message may hold before validation (`vlan` may be just the id). */
export type InterfaceInput = z.input<typeof InterfaceInput>;

/** The YAML form: a list of interfaces, each identified by a unique name or MAC. */
export const InterfaceList = z.array(InterfaceConfig, { error: (i) => `interfaces ${said(i.input)} must be a list` }).max(64, 'at most 64 interfaces').superRefine((list, ctx) => {
  const seen = new Set<string>();
  for (const i of list) {
    for (const id of [i.name, i.mac]) {
      if (id === undefined) continue;
      if (seen.has(id)) ctx.addIssue({ code: 'custom', message: `interface "${id}" is listed twice` });
      seen.add(id);
    }
  }
});

/** A rule as settings and config carry it: refused when it does not parse. */
export const DiskRuleText = z.string().superRefine((text, ctx) => {
  const r = parseDiskRule(text);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error });
});

/** What a build system receives in `configure(node, config)`. */
export const BuildConfig = z.object({
  image: ImageId,
  tags: z.array(Tag).max(64, 'at most 64 tags').default([]),
  interfaces: InterfaceList.default([]),
  /** Which disk the `disk` build system installs on (shared/disk-rule.ts); default: the first fixed disk. */
  disk: DiskRuleText.optional(),
});
export type BuildConfig = z.output<typeof BuildConfig>;

export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}
/** Whether an IPv4 address lies in a CIDR's network (the CIDR may name a host in it: 10.1.0.11/16). */
export function inSubnet(ip: string, cidrText: string): boolean {
  const [base, bits] = cidrText.split('/');
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  return Math.floor(ipv4ToInt(ip) / size) === Math.floor(ipv4ToInt(base!) / size);
}

/** First problem of a failed parse. Our messages name their field; the path adds the list index. */
function firstProblem(error: z.ZodError, where: string): string {
  const issue = error.issues[0]!;
  const index = typeof issue.path[0] === 'number' ? `.${issue.path[0]}` : '';
  return `${where}${index}: ${issue.message}`;
}

// ---- the CLI / kernel command-line form ----------------------------------------------------------

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

const nameProblem = (where: string, name: string) => `${where}: name ${said(name)} must be an interface name of 1-15 letters, digits, "_", "." or "-"`;

/**
 * `if.<name>=<value>`: comma-separated items; a bare item is an address (`10.1.0.11/16`,
 * `fd00::11/64`), `dhcp`, or `up` (link up, no address: bond members, VLAN parents); `key=value`
 * items are `gw`, `mtu`, `vlan`, `bond` (members joined by `+`), `mode` and `mac`. `gw` takes
 * IPv4 or IPv6 and fills `gateway` or `gateway6`.
 */
export function parseInterfaceSetting(name: string, value: string): Result<InterfaceConfig> {
  const where = `if.${name}`;
  if (!IF_NAME.test(name)) return { ok: false, error: nameProblem(where, name) };
  return parseInterfaceItems(where, value, { name });
}

function parseInterfaceItems(where: string, value: string, identity: { name: string } | { mac: string }): Result<InterfaceConfig> {
  const raw: Record<string, unknown> & { addresses: string[] } = { ...identity, addresses: [] };
  let mode: string | undefined;
  for (const item of value.split(',').map((s) => s.trim())) {
    if (item === '') return { ok: false, error: `${where}: empty item in "${value}"` };
    const eq = item.indexOf('=');
    if (eq < 0) {
      if (item === 'dhcp') raw.dhcp = true;
      else if (item !== 'up') raw.addresses.push(item);
      continue;
    }
    const key = item.slice(0, eq);
    const val = item.slice(eq + 1);
    const twice = (field: string) => ({ ok: false as const, error: `${where}: ${field} is given twice` });
    switch (key) {
      case 'gw': {
        const field = val.includes(':') ? 'gateway6' : 'gateway';
        if (raw[field] !== undefined) return twice('gw');
        raw[field] = val;
        break;
      }
      case 'mtu':
      case 'vlan':
        if (raw[key] !== undefined) return twice(key);
        raw[key] = /^\d{1,9}$/.test(val) ? Number(val) : val;
        break;
      case 'mac':
        if (raw.mac !== undefined) return twice('mac');
        raw.mac = val;
        break;
      case 'bond':
        if (raw.bond !== undefined) return twice('bond');
        raw.bond = { members: val.split('+') };
        break;
      case 'mode':
        if (mode !== undefined) return twice('mode');
        mode = val;
        break;
      default:
        return { ok: false, error: `${where}: unknown key "${key}" (known: gw, mtu, vlan, bond, mode, mac; bare items are addresses, dhcp or up)` };
    }
  }
  if (mode !== undefined) {
    if (!raw.bond) return { ok: false, error: `${where}: mode "${mode}" needs bond=MEMBER+MEMBER` };
    (raw.bond as Record<string, unknown>).mode = mode;
  }
  const r = InterfaceConfig.safeParse(raw);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: firstProblem(r.error, where) };
}

/** The CLI value for an interface (inverse of parseInterfaceSetting, without the `if.<name>=`). */
export function formatInterfaceValue(i: InterfaceConfig): string {
  const items: string[] = [];
  if (i.dhcp) items.push('dhcp');
  items.push(...i.addresses);
  if (i.gateway) items.push(`gw=${i.gateway}`);
  if (i.gateway6) items.push(`gw=${i.gateway6}`);
  if (i.mtu !== undefined) items.push(`mtu=${i.mtu}`);
  if (i.bond) items.push(`bond=${i.bond.members.join('+')}`, `mode=${i.bond.mode}`);
  if (i.mac && i.name) items.push(`mac=${i.mac}`);
  return items.length ? items.join(',') : 'up';
}

/** Label of an interface: its name, else its MAC (a MAC-only interface from YAML). */
export function interfaceLabel(i: InterfaceConfig): string {
  return i.name ?? i.mac!;
}

/** `muster show`: one `if.<name>=<value>` line per interface, in the form `muster set` accepts. */
export function formatInterfaces(list: readonly InterfaceConfig[]): string[] {
  return list.map((i) => (i.name ? `if.${i.name}=${formatInterfaceValue(i)}` : `if.(mac ${i.mac})=${formatInterfaceValue(i)}`));
}

/** Validate the YAML/JSON form of a node's interface list. */
export function parseInterfaces(value: unknown, where = 'interfaces'): Result<InterfaceConfig[]> {
  const r = InterfaceList.safeParse(value);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: firstProblem(r.error, where) };
}

// ---- kernel command line: muster.if= ---------------------------------------------------------------

/**
 * `muster.if=<label>:<CLI value>`, one parameter per interface. The label is the interface name,
 * or the MAC with `-` for `:` when the interface has no name. `:` separates label and value
 * because names never contain it; the value keeps the CLI grammar (IPv6 and MACs contain `:`).
 */
export function formatKernelInterface(i: InterfaceConfig): string {
  const label = i.name ?? i.mac!.replace(/:/g, '-');
  return `muster.if=${label}:${formatInterfaceValue(i)}`;
}

/** Parse the value of one `muster.if=` parameter (what follows the `=`). */
export function parseKernelInterface(param: string): Result<InterfaceConfig> {
  const colon = param.indexOf(':');
  if (colon <= 0) return { ok: false, error: `muster.if: "${param}" must be <name>:<settings>` };
  const label = param.slice(0, colon);
  const value = param.slice(colon + 1);
  const where = `muster.if ${label}`;
  const mac = /^([0-9a-f]{2}-){5}[0-9a-f]{2}$/i.test(label) ? normalizeMac(label) : null;
  if (mac) return parseInterfaceItems(where, value, { mac });
  if (!IF_NAME.test(label)) return { ok: false, error: nameProblem(where, label) };
  return parseInterfaceItems(where, value, { name: label });
}

// ---- muster set / muster show ----------------------------------------------------------------------

/** The part of a node definition the build layer owns (what `image=`, `tags=`, `disk=`, `if.*=` set). */
export interface NodeBuildSettings {
  image: string | null;
  tags: string[];
  interfaces: InterfaceConfig[];
  disk?: string | null;
}

/** One `muster set` setting, checked. `config: null` removes the interface (`if.eth0=`). */
export type NodeSettingPatch =
  | { kind: 'image'; image: string | null }
  | { kind: 'tags'; tags: string[] }
  | { kind: 'disk'; disk: string | null }
  | { kind: 'interface'; name: string; config: InterfaceConfig | null };

/**
 * `image=ID` (empty clears), `tags=a,b` (empty clears), `disk=RULE` (empty clears), `if.<name>=…` (empty removes).
 * Returns null for keys this module does not own (power=, console=, …) so the caller tries others.
 */
export function parseNodeSetting(key: string, value: string): Result<NodeSettingPatch> | null {
  if (key === 'image') {
    if (value === '') return { ok: true, value: { kind: 'image', image: null } };
    const r = ImageId.safeParse(value);
    return r.success ? { ok: true, value: { kind: 'image', image: r.data } } : { ok: false, error: `image: ${said(value)}: ${r.error.issues[0]!.message}` };
  }
  if (key === 'tags') {
    const tags = value === '' ? [] : value.split(',').map((t) => t.trim());
    for (const t of tags) {
      const r = Tag.safeParse(t);
      if (!r.success) return { ok: false, error: `tags: ${said(t)}: ${r.error.issues[0]!.message}` };
    }
    return { ok: true, value: { kind: 'tags', tags: [...new Set(tags)] } };
  }
  if (key === 'disk') {
    if (value === '') return { ok: true, value: { kind: 'disk', disk: null } };
    const r = parseDiskRule(value);
    return r.ok ? { ok: true, value: { kind: 'disk', disk: value } } : r;
  }
  if (key.startsWith('if.')) {
    const name = key.slice(3);
    if (value === '') {
      if (!IF_NAME.test(name)) return { ok: false, error: nameProblem(key, name) };
      return { ok: true, value: { kind: 'interface', name, config: null } };
    }
    const r = parseInterfaceSetting(name, value);
    return r.ok ? { ok: true, value: { kind: 'interface', name: r.value.name!, config: r.value } } : r;
  }
  return null;
}

/** Apply a patch (pure): an interface replaces the one with the same name, or is appended. */
export function applyNodeSetting(current: NodeBuildSettings, patch: NodeSettingPatch): NodeBuildSettings {
  switch (patch.kind) {
    case 'image':
      return { ...current, image: patch.image };
    case 'tags':
      return { ...current, tags: patch.tags };
    case 'disk':
      return { ...current, disk: patch.disk };
    case 'interface': {
      if (!patch.config) return { ...current, interfaces: current.interfaces.filter((i) => i.name !== patch.name) };
      const at = current.interfaces.findIndex((i) => i.name === patch.name);
      const interfaces = [...current.interfaces];
      if (at >= 0) interfaces[at] = patch.config;
      else interfaces.push(patch.config);
      return { ...current, interfaces };
    }
  }
}

