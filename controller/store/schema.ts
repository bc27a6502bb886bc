/**
 * The store file's shape (DATA/store.json). Validated on load: a file that does not fit, or has
 * fields these schemas do not name, is refused with the path of the last good backup, never
 * half-loaded.
 */
import { z } from 'zod';
import { DiskRuleText, ImageId, InterfaceList, Tag } from '../../shared/node-network.js';
import { AgentId, Fingerprint, Mac, IbGuid, NodeName } from '../../shared/protocol.js';
import { HwlogSource } from '../../shared/verbs/args.js';
import { AgentCredentialRecord, AgentTokenRecord, UserRecord } from '../auth/records.js';

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

export const NodeDefinition = z.object({
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
  image: ImageId.nullable().default(null),
  tags: z.array(Tag).default([]),
  /** The `disk` build system's target disk rule (shared/disk-rule.ts); null: the first fixed disk. */
  disk: DiskRuleText.nullable().default(null),
  interfaces: InterfaceList.default([]),
  /** Free-form site attributes (xCAT style: rack, unit, chassis, …). */
  attrs: z.record(z.string(), z.string()).default({}),
  /** The state manager's persisted part of this node (phase, admin, power, times…). */
  runtime: z.unknown().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type NodeDefinition = z.infer<typeof NodeDefinition>;

export const AgentRecord = z.object({
  agentId: AgentId,
  firstSeen: z.number(),
  lastSeen: z.number(),
  bootId: z.string().nullable(),
  fingerprint: Fingerprint,
  node: NodeName.nullable(),
  /** The agent's own secret (hashed); null until one is issued. */
  credential: AgentCredentialRecord.nullable().default(null),
});
export type AgentRecord = z.infer<typeof AgentRecord>;

export const NamingRule = z.object({ enabled: z.boolean(), pattern: z.string().min(1) });

/** A hardware-log issue (`muster hwlog`): something wrong with a machine, open until an admin closes it. */
export const HwlogIssue = z.object({
  id: z.number().int().positive(),
  node: NodeName,
  text: z.string().min(1).max(4096),
  source: HwlogSource,
  /** What made whoever opened it think so: console tail, failed actions, fingerprint diff… */
  evidence: z.record(z.string(), z.unknown()).default({}),
  openedAt: z.number(),
  openedBy: z.string().max(128),
  closedAt: z.number().nullable().default(null),
  closedBy: z.string().max(128).nullable().default(null),
  note: z.string().max(4096).nullable().default(null),
});
export type HwlogIssue = z.infer<typeof HwlogIssue>;
/** Issues in the order they were opened; ids come from `nextId` and are never reused. (Defaults below
 * are functions: zod hands out a default object itself, and a shared one would leak between stores.) */
export const HwlogData = z.object({ nextId: z.number().int().positive().default(1), issues: z.array(HwlogIssue).default([]) });

/** A network switch; its port → node map is `StoreData.switchPorts`. */
export const SwitchRecord = z.object({
  name: z.string().min(1).max(128),
  /** Management address (host name or IP). */
  mgmt: z.string().max(255).nullable().default(null),
  /** Vendor/model, free text (`arista-7050`). */
  kind: z.string().max(128).nullable().default(null),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type SwitchRecord = z.infer<typeof SwitchRecord>;

/** BIOS settings as key → value; `version` is the BIOS version. */
export const BiosSettings = z.record(z.string(), z.string());
export type BiosSettings = z.infer<typeof BiosSettings>;
export const BiosData = z.object({
  /** Desired settings per group and per node; a node's own settings override its groups'. */
  desired: z.object({ groups: z.record(z.string(), BiosSettings).default({}), nodes: z.record(z.string(), BiosSettings).default({}) }).default(() => ({ groups: {}, nodes: {} })),
  /**
   * What each node last reported: the version (agent DMI or BMC), the BMC's actual settings and
   * those pending until its next reset, and what the agent sees of the firmware (`os.bootMode`, `os.secureBoot`).
   */
  reported: z
    .record(
      z.string(),
      z.object({
        version: z.string().nullable(),
        settings: BiosSettings.nullable().default(null),
        pending: BiosSettings.nullable().default(null),
        os: BiosSettings.nullable().default(null),
        at: z.number(),
      }),
    )
    .default({}),
});
export type BiosData = z.infer<typeof BiosData>;

export const StoreData = z.object({
  version: z.number().int(),
  nodes: z.record(z.string(), NodeDefinition).default({}),
  agents: z.record(z.string(), AgentRecord).default({}),
  naming: NamingRule.default({ enabled: false, pattern: 'n[001-999]' }),
  /** Switch + port → node name (identification by LLDP). */
  switchPorts: z.array(SwitchPort.extend({ node: NodeName, /** The node's NIC on that port: a name (`eth0`) or a MAC. */ nic: z.string().max(64).optional() })).default([]),
  hwlog: HwlogData.default(() => ({ nextId: 1, issues: [] })),
  switches: z.record(z.string(), SwitchRecord).default({}),
  bios: BiosData.default(() => ({ desired: { groups: {}, nodes: {} }, reported: {} })),
  /** Users by name, with scrypt password hashes (`muster user`). */
  users: z.record(z.string(), UserRecord).default({}),
  /** Agent bootstrap tokens by hash (`muster token create`). */
  agentTokens: z.array(AgentTokenRecord).default([]),
  /** Room for the other layers' records (hwlog, switches, bios…), each validated by its owner. */
  extra: z.record(z.string(), z.unknown()).default({}),
});
export type StoreData = z.infer<typeof StoreData>;

export function emptyStore(): StoreData {
  return StoreData.parse({ version: STORE_VERSION });
}
