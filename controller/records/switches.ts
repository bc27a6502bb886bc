/**
 * Network switches and the map of their ports to node NICs. `StoreData.switchPorts` stays the one
 * port → node map, so the identification rule "a machine on sw1 port 12 is n012" reads the same
 * data `muster switch port` writes. Pure functions over StoreData.
 */
import { normalizeMac } from '../../shared/protocol.js';
import { normalizeSwitchPort, switchPortKey, type SwitchPort } from '../identify/identifiers.js';
import { naturalCompare } from '../nodes/directory.js';
import type { StoreData, SwitchRecord } from '../store/schema.js';
import { RecordError } from './errors.js';

/** Switch names appear in `SW:PORT` settings, so no ":" and no spaces. */
const SWITCH_NAME = /^[^\s:]{1,128}$/;
const PORT_NAME = /^\S{1,64}$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.:%\[\]-]{0,253})$/;
const KIND = /^[A-Za-z0-9][A-Za-z0-9_.:+/-]{0,127}$/;
const NIC_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/;

export interface SwitchSpec {
  name: string;
  mgmt?: string | null;
  kind?: string | null;
}

export interface PortMapping {
  switch: string;
  port: string;
  node: string;
  nic?: string;
}

function checkSwitchName(name: string): string {
  if (!SWITCH_NAME.test(name)) throw new RecordError(`switch name "${name}" must be 1-128 characters without spaces or ":"`);
  return name;
}

/** Check a switch's fields; `undefined` means "not given" and is kept as such. */
export function checkSwitchSpec(spec: SwitchSpec): SwitchSpec {
  checkSwitchName(spec.name);
  if (spec.mgmt && !HOST.test(spec.mgmt)) throw new RecordError(`switch ${spec.name}: mgmt "${spec.mgmt}" is not a host name or IP address`);
  if (spec.kind && !KIND.test(spec.kind)) throw new RecordError(`switch ${spec.name}: kind "${spec.kind}" must be letters, digits and "_.:+/-" (e.g. arista-7050)`);
  return spec;
}

export function checkPort(switchName: string, port: string): string {
  if (!PORT_NAME.test(port)) throw new RecordError(`switch ${switchName}: port "${port}" must be 1-64 characters without spaces`);
  return port;
}

/** A NIC is named (`eth0`) or given by MAC (normalised). */
export function checkNic(nic: string, owner: string): string {
  const mac = normalizeMac(nic);
  if (mac) return mac;
  if (!NIC_NAME.test(nic)) throw new RecordError(`${owner}: nic "${nic}" is neither an interface name (eth0) nor a MAC`);
  return nic;
}

export type PortEntry = StoreData['switchPorts'][number];

/** A port map entry with its port and NIC checked (whether the switch and node exist is the caller's to check). */
export function portEntry(m: PortMapping): PortEntry {
  checkPort(m.switch, m.port);
  return { switch: m.switch, port: m.port, node: m.node, ...(m.nic ? { nic: checkNic(m.nic, `switch ${m.switch} port ${m.port}`) } : {}) };
}

/** Add a switch or change the fields given. Returns whether it was created. */
export function putSwitch(data: StoreData, spec: SwitchSpec, now: number): boolean {
  checkSwitchSpec(spec);
  const existing = data.switches[spec.name];
  const record: SwitchRecord = existing ?? { name: spec.name, mgmt: null, kind: null, createdAt: now, updatedAt: now };
  if (spec.mgmt !== undefined) record.mgmt = spec.mgmt || null;
  if (spec.kind !== undefined) record.kind = spec.kind || null;
  record.updatedAt = now;
  data.switches[spec.name] = record;
  return !existing;
}

/**
 * Map a switch port to a node (and NIC). A port holds one cable: mapping it again moves it.
 * The switch and the node must be defined.
 */
export function mapPort(data: StoreData, m: PortMapping): PortEntry {
  if (!Object.hasOwn(data.switches, m.switch)) throw new RecordError(`switch ${m.switch} is not defined (add it: muster switch add ${m.switch})`);
  const entry = portEntry(m);
  if (!Object.hasOwn(data.nodes, m.node)) throw new RecordError(`switch ${m.switch} port ${m.port}: node ${m.node} is not defined`);
  const key = switchPortKey(entry);
  data.switchPorts = [...data.switchPorts.filter((e) => switchPortKey(e) !== key), entry];
  return entry;
}

export interface SwitchListing extends SwitchRecord {
  ports: Array<{ port: string; node: string; nic: string | null }>;
}

/** Switches by name with their mapped ports (ports in natural order). */
export function listSwitches(data: StoreData): SwitchListing[] {
  return Object.values(data.switches)
    .sort((a, b) => naturalCompare(a.name, b.name))
    .map((s) => ({
      ...s,
      ports: data.switchPorts
        .filter((e) => e.switch === s.name)
        .sort((a, b) => naturalCompare(a.port, b.port))
        .map((e) => ({ port: e.port, node: e.node, nic: e.nic ?? null })),
    }));
}

/** Where the site says a node is cabled: the port map, then the node's own `switch=` identifier. */
export function expectedPorts(data: StoreData, node: string): SwitchPort[] {
  const fromMap: SwitchPort[] = data.switchPorts.filter((e) => e.node === node).map((e) => ({ switch: e.switch, port: e.port }));
  const own = Object.hasOwn(data.nodes, node) ? data.nodes[node]!.ids.switchPort : null;
  return own && !fromMap.some((e) => switchPortKey(e) === switchPortKey(own)) ? [...fromMap, own] : fromMap;
}

/**
 * Compare what the node's agent reports by LLDP with where the site says it is cabled: null when
 * they agree, when nothing is expected, or when the agent reports nothing (no LLDP is not a
 * mismatch); else both sides, for an event.
 */
export function lldpMismatch(data: StoreData, node: string, reported: SwitchPort | null): { expected: SwitchPort[]; reported: SwitchPort } | null {
  const seen = reported ? normalizeSwitchPort(reported) : null;
  if (!seen) return null;
  const expected = expectedPorts(data, node);
  if (expected.length === 0) return null;
  const key = switchPortKey(seen);
  return expected.some((e) => switchPortKey(e) === key) ? null : { expected, reported: seen };
}
