/**
 * Hardware identifiers in one normalised form, so a definition typed by an admin
 * (`AA-BB-CC-DD-EE-FF`, `0x0002c90300012345`, upper-case UUID) compares equal to what an agent
 * reports. Pure: no I/O.
 */
import { normalizeIbGuid, normalizeMac, type Fingerprint, type LldpNeighbour } from '../../shared/protocol.js';

export interface SwitchPort {
  switch: string;
  port: string;
}

/** Normalised identifiers (the store's NodeIdentifiers shape): what identifies one machine. */
export interface Identifiers {
  /** Physical NICs' MACs (and the boot MAC), lowercase `aa:bb:…`, without duplicates. */
  macs: string[];
  /** DMI system serial, trimmed and upper-cased; the board serial when the system one is a placeholder. */
  serial: string | null;
  /** DMI system UUID, lowercase 8-4-4-4-12. */
  uuid: string | null;
  /** InfiniBand port GUIDs, `xxxx:xxxx:xxxx:xxxx`. */
  ibGuids: string[];
  /** The LLDP neighbour (switch + port), trimmed. */
  switchPort: SwitchPort | null;
}

/** Identifiers as a site definition may spell them: any MAC/GUID/UUID format, fields optional. */
export interface IdentifierInput {
  macs?: readonly string[];
  serial?: string | null;
  uuid?: string | null;
  ibGuids?: readonly string[];
  switchPort?: SwitchPort | null;
}

const NO_MACS = new Set(['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff']);
const NO_GUID = '0000:0000:0000:0000';

/**
 * Serial numbers firmware ships unset. Matching on them would bind every such machine to one node.
 * Case-insensitive, compared after trimming.
 */
const PLACEHOLDER_SERIAL =
  /^(|0+|x+|\*+|\.+|-+|n\/?a|none|null|unknown|empty|default( string)?|to be filled by o\.?e\.?m\.?|not (specified|applicable|available|present)|(system|chassis|base ?board|board) serial( number)?|serial( number)?|0123456789|123456789|1234567890|o\.?e\.?m\.?)$/i;
/** UUIDs that are the same on many boards: all one digit (00…0, ff…f) and AMI's well-known default. */
const PLACEHOLDER_UUIDS = new Set(['03000200-0400-0500-0006-000700080009']);

/** The identifiers of an agent's fingerprint: what a node's definition is matched against and what is recorded. */
export function identifiersOf(fp: Fingerprint): Identifiers {
  // Virtual NICs (bridges, bonds, veth, tun) are never identity: their MACs are made up or borrowed.
  const nicMacs = fp.nics.filter((nic) => !nic.virtual && nic.mac !== null).map((nic) => nic.mac!);
  const macs = [...nicMacs, ...(fp.bootMac ? [fp.bootMac] : [])].map((m) => normalizeMac(m)).filter((m): m is string => m !== null && !NO_MACS.has(m));
  const guids = fp.ib.map((port) => normalizeIbGuid(port.guid)).filter((g): g is string => g !== null && g !== NO_GUID);
  return {
    macs: [...new Set(macs)],
    serial: normalizeSerial(fp.dmi.serial) ?? normalizeSerial(fp.dmi.boardSerial),
    uuid: normalizeUuid(fp.dmi.uuid),
    ibGuids: [...new Set(guids)],
    switchPort: switchPortOf(fp),
  };
}

/**
 * The switch port a machine is identified by: the LLDP neighbour of the boot NIC, else of the
 * first physical NIC that heard one, else of any NIC.
 */
export function switchPortOf(fp: Fingerprint): SwitchPort | null {
  const heard = fp.nics.filter((nic) => nic.lldp !== undefined);
  const boot = fp.bootMac ? heard.find((nic) => nic.mac === normalizeMac(fp.bootMac!)) : undefined;
  const nic = boot ?? heard.find((n) => !n.virtual) ?? heard[0];
  return nic?.lldp ? normalizeSwitchPort(neighbourPort(nic.lldp)) : null;
}

/**
 * Switch = the advertised system name (else the chassis id); port = the port id, unless the
 * switch sends a MAC there (then its port description, which names the port).
 */
export function neighbourPort(n: LldpNeighbour): SwitchPort {
  const port = n.portIdType === 'mac' && n.portDescription ? n.portDescription : n.portId;
  return { switch: n.systemName ?? n.chassisId, port };
}

/** Normalise a site definition's identifiers; `owner` names it in errors (`node n012`). */
export function normalizeIdentifiers(input: IdentifierInput, owner: string): Identifiers {
  const each = (values: readonly string[] | undefined, normalize: (raw: string) => string | null, what: string) =>
    [...new Set((values ?? []).map((raw) => normalize(raw) ?? fail(`${owner}: bad ${what} "${raw}"`)))];
  const uuid = input.uuid ? (isUuidShaped(input.uuid) ? normalizeUuid(input.uuid) : fail(`${owner}: bad UUID "${input.uuid}"`)) : null;
  return {
    macs: each(input.macs, normalizeMac, 'MAC'),
    serial: normalizeSerial(input.serial ?? null),
    uuid,
    ibGuids: each(input.ibGuids, normalizeIbGuid, 'IB GUID'),
    switchPort: input.switchPort ? normalizeSwitchPort(input.switchPort) : null,
  };
}

/** Trimmed, upper-cased serial; null when missing or a firmware placeholder. */
export function normalizeSerial(raw: string | null): string | null {
  const serial = raw?.trim().replace(/\s+/g, ' ') ?? '';
  return PLACEHOLDER_SERIAL.test(serial) ? null : serial.toUpperCase();
}

/** Lowercase 8-4-4-4-12 UUID (dashes optional on input); null when missing, malformed or a placeholder. */
export function normalizeUuid(raw: string | null): string | null {
  if (!raw || !isUuidShaped(raw)) return null;
  const hex = raw.trim().toLowerCase().replace(/[{}-]/g, '');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return /^(.)\1*$/.test(hex) || PLACEHOLDER_UUIDS.has(uuid) ? null : uuid;
}

export function normalizeSwitchPort(sp: SwitchPort): SwitchPort | null {
  const sw = sp.switch.trim();
  const port = sp.port.trim();
  return sw && port ? { switch: sw, port } : null;
}

/** Switch and port names compare case-insensitively (`SW1 Eth1/12` is `sw1 eth1/12`). */
export function switchPortKey(sp: SwitchPort): string {
  return `${sp.switch.toLowerCase()} port ${sp.port.toLowerCase()}`;
}

function isUuidShaped(raw: string): boolean {
  return /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i.test(raw.trim());
}

function fail(message: string): never {
  throw new Error(message);
}
