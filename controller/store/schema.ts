/**
 * The store file's shape (DATA/store.json). Validated on load: a file that does not fit is refused
 * with the path of the last good backup, never half-loaded.
 */
import { z } from 'zod';
import { AgentId, Fingerprint, Mac, IbGuid, NodeName } from '../../shared/protocol.js';

export const STORE_VERSION = 1;

export const SwitchPort = z.object({ switch: z.string().min(1).max(128), port: z.string().min(1).max(64) });

/** What identifies a node's hardware, as the site defined it or as recorded at assignment. */
export const NodeIdentifiers = z.object({
  macs: z.array(Mac).default([]),
  serial: z.string().max(256).nullable().default(null),
  uuid: z.string().max(64).nullable().default(null),
  ibGuids: z.array(IbGuid).default([]),
  switchPort: SwitchPort.nullable().default(null),
});
export type NodeIdentifiers = z.infer<typeof NodeIdentifiers>;

export const NodeRecord = z.object({
  name: NodeName,
  groups: z.array(z.string()).default([]),
  ids: NodeIdentifiers,
  agentId: AgentId.nullable().default(null),
  /** The fingerprint as it was when the agent was bound: the reference for drift. */
  fingerprint: Fingerprint.nullable().default(null),
  /** Power target URL (ipmi://…, redfish://…, qemu://…, command:…, sim://). Holds credentials. */
  power: z.string().max(1024).nullable().default(null),
  /** Console target (serial:…, tcp://…, sol:, sim://). */
  console: z.string().max(1024).nullable().default(null),
  image: z.string().max(128).nullable().default(null),
  tags: z.array(z.string()).default([]),
  interfaces: z.array(z.unknown()).default([]),
  /** Free-form site attributes (xCAT style: rack, unit, chassis, …). */
  attrs: z.record(z.string(), z.string()).default({}),
  /** The state manager's persisted part of this node (phase, admin, power, times…). */
  runtime: z.unknown().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type NodeRecord = z.infer<typeof NodeRecord>;

export const AgentRecord = z.object({
  agentId: AgentId,
  firstSeen: z.number(),
  lastSeen: z.number(),
  bootId: z.string().nullable(),
  fingerprint: Fingerprint,
  node: NodeName.nullable(),
});
export type AgentRecord = z.infer<typeof AgentRecord>;

export const NamingRule = z.object({ enabled: z.boolean(), pattern: z.string().min(1) });

export const StoreData = z.object({
  version: z.number().int(),
  nodes: z.record(z.string(), NodeRecord).default({}),
  agents: z.record(z.string(), AgentRecord).default({}),
  naming: NamingRule.default({ enabled: false, pattern: 'n[001-999]' }),
  /** Switch + port → node name (identification by LLDP). */
  switchPorts: z.array(SwitchPort.extend({ node: NodeName })).default([]),
  /** Room for the other layers' records (hwlog, switches, bios…), each validated by its owner. */
  extra: z.record(z.string(), z.unknown()).default({}),
});
export type StoreData = z.infer<typeof StoreData>;

export function emptyStore(): StoreData {
  return StoreData.parse({ version: STORE_VERSION });
}
