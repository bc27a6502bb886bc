/**
 * The muster wire protocol: one zod schema per MQTT message, used by agent, controller and CLI.
 * Types derive from the schemas, so a field added here is checked on both sides.
 * Every payload carries `v`, the protocol version; a receiver refuses versions it does not know.
 * docs/protocol.md documents each topic with an example; keep the two together.
 */
import { z } from 'zod';
import { AGENT_PHASES, AGENT_SECRET, BOOT_ID, HISTORY_AXES, NODE_NAME, NODE_NAME_RULE, PROTOCOL_VERSION, normalizeIbGuid, normalizeMac } from './wire.js';

export { PROTOCOL_VERSION, normalizeIbGuid, normalizeMac };
const v = z.literal(PROTOCOL_VERSION);

/** Bounded strings: a payload field is never allowed to grow without limit. */
const text = (max = 256) => z.string().max(max);
/** Milliseconds since the epoch. */
const epochMs = z.number().int().nonnegative();

// ---- identifiers -------------------------------------------------------------------------------

/** Lowercase colon-separated MAC, e.g. `52:54:00:12:34:56`. Use normalizeMac() before checking. */
export const Mac = z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'MAC must be 6 lowercase hex pairs joined by ":"');
/** InfiniBand port GUID as 4 groups of 4 lowercase hex digits: `0002:c903:0001:2345`. */
export const IbGuid = z.string().regex(/^([0-9a-f]{4}:){3}[0-9a-f]{4}$/, 'IB GUID must be xxxx:xxxx:xxxx:xxxx (lowercase hex)');
/** Agent ids are topic-safe and hardware-derived: `uuid-<dmi uuid>`, `mac-<12 hex>`, `serial-<…>`. */
export const AgentId = z.string().regex(/^(uuid|mac|serial)-[0-9a-zA-Z._-]{1,80}$/, 'agent id must be uuid-…, mac-… or serial-… (topic-safe)');
export const NodeName = z.string().regex(NODE_NAME, NODE_NAME_RULE);
export const BootId = z.string().regex(BOOT_ID, 'boot id must be 8-64 lowercase hex digits');

// ---- state axes --------------------------------------------------------------------------------

export const Phase = z.enum(['unknown', 'build', 'kernel', 'init', 'run', 'off']);
/** Phases an agent can report about itself (`unknown` and `off` are the controller's words). */
export const AgentPhase = z.enum(AGENT_PHASES as ['build', 'kernel', 'init', 'run']);
export const Liveness = z.enum(['alive', 'suspect', 'dead']);
export const Admin = z.enum(['online', 'offline']);
export const Power = z.enum(['on', 'off', 'unknown']);
export type Phase = z.infer<typeof Phase>;
export type AgentPhase = z.infer<typeof AgentPhase>;
export type Liveness = z.infer<typeof Liveness>;
export type Admin = z.infer<typeof Admin>;
export type Power = z.infer<typeof Power>;

// ---- fingerprint -------------------------------------------------------------------------------

/** A NIC's LLDP neighbour: the switch port at the other end of its cable, as the switch advertises it. */
export const LldpNeighbour = z.object({
  chassisId: text(),
  /** How the switch spells the port id: `ifname`, `local`, `mac`, … (LLDP port id subtype). */
  portIdType: text(32),
  portId: text(),
  portDescription: text().nullable(),
  systemName: text().nullable(),
});
export const Nic = z.object({
  name: text(64),
  /** Permanent (burned-in) MAC when the kernel exposes it, else the current one; null if none. */
  mac: Mac.nullable(),
  driver: text(64).nullable(),
  link: z.enum(['up', 'down', 'unknown']),
  speedMbps: z.number().int().nullable(),
  /** The link's MTU when the kernel says (what the node's network configuration made it). */
  mtu: z.number().int().positive().optional(),
  /** The bond (or bridge) this link is a member of. */
  master: text(64).optional(),
  /** A bond's mode as the kernel names it (`active-backup`). */
  bondMode: text(32).optional(),
  /** A VLAN link: its id and the link it is on. */
  vlan: z.object({ id: z.number().int().min(0).max(4095), parent: text(64) }).optional(),
  /** The link's addresses with their prefix (`10.9.0.5/24`), as a running system has them. */
  addresses: z.array(text(64)).max(64).optional(),
  /** Virtual NICs (bridges, veth, tun, bonds) are reported but never used as identity. */
  virtual: z.boolean(),
  /** Present when an LLDP neighbour was heard on this NIC. */
  lldp: LldpNeighbour.optional(),
});
export const Dmi = z.object({
  vendor: text().nullable(),
  product: text().nullable(),
  serial: text().nullable(),
  uuid: text(64).nullable(),
  biosVersion: text().nullable(),
  boardSerial: text().nullable(),
});
/** What the OS sees of its firmware: how it booted and whether Secure Boot is on (efivars). */
export const Firmware = z.object({
  bootMode: z.enum(['uefi', 'bios']),
  /** null: booted by UEFI, but the SecureBoot variable could not be read. */
  secureBoot: z.enum(['enabled', 'disabled']).nullable(),
});
export const Disk = z.object({
  name: text(64),
  model: text().nullable(),
  serial: text().nullable(),
  sizeBytes: z.number().int().nonnegative(),
});
export const IbPort = z.object({ device: text(64), port: z.number().int().nonnegative(), guid: IbGuid });
export const Fingerprint = z.object({
  nics: z.array(Nic).max(256),
  dmi: Dmi,
  cpu: z.object({ model: text().nullable(), count: z.number().int().nonnegative() }),
  memoryBytes: z.number().int().nonnegative(),
  disks: z.array(Disk).max(256),
  ib: z.array(IbPort).max(64),
  /** From `BOOTIF=01-aa-bb-…` on the kernel command line (PXELINUX/iPXE convention). */
  bootMac: Mac.nullable(),
  /** Optional: an agent of an older release does not send it. */
  firmware: Firmware.optional(),
});
export type Nic = z.infer<typeof Nic>;
export type LldpNeighbour = z.infer<typeof LldpNeighbour>;
export type Dmi = z.infer<typeof Dmi>;
export type Firmware = z.infer<typeof Firmware>;
export type Fingerprint = z.infer<typeof Fingerprint>;

// ---- agent → controller ------------------------------------------------------------------------

/**
 * The number of the agent's MQTT connection within its boot (1 for the first): a will (`status`)
 * from a lower number than the last hello's is from a connection already replaced, and stale.
 * Optional: older agents leave it out.
 */
const Connection = z.number().int().positive().optional();
/** `muster/agents/<agentId>/hello`: on every (re)connect. */
export const Hello = z.object({
  v,
  agentId: AgentId,
  bootId: BootId,
  connection: Connection,
  agentVersion: text(32),
  phase: AgentPhase,
  at: epochMs,
  /** The agent's heartbeat interval, ms: the controller warns when its heartbeat.interval is shorter. Optional: older agents leave it out. */
  interval: z.number().int().positive().max(3_600_000).optional(),
  /** Seconds since the machine booted (from /proc/uptime). */
  uptime: z.number().nonnegative(),
  fingerprint: Fingerprint,
});
/** `muster/agents/<agentId>/state`: on each phase change. */
export const AgentState = z.object({ v, bootId: BootId, phase: AgentPhase, at: epochMs });
/** `muster/agents/<agentId>/heartbeat`: every interval. */
export const Heartbeat = z.object({
  v,
  bootId: BootId,
  seq: z.number().int().nonnegative(),
  phase: AgentPhase,
  uptime: z.number().nonnegative(),
  /** The agent's wall clock when sent: the controller judges clock offsets by it. Optional: older agents leave it out. */
  at: epochMs.optional(),
});
/** `muster/agents/<agentId>/status`: `online:false` is the will the broker sends for a dead link. */
export const AgentStatus = z.object({ v, bootId: BootId, connection: Connection, online: z.boolean() });
/**
 * `muster/agents/<agentId>/credential`: the agent stored the secret the controller sent it
 * (`hash`: `sha256:<hex>` of it); from then on its id needs that secret, not the bootstrap token.
 */
export const CredentialStored = z.object({ v, bootId: BootId, hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'hash must be sha256:<64 hex digits>') });
export type CredentialStored = z.infer<typeof CredentialStored>;
export type Hello = z.infer<typeof Hello>;
export type AgentState = z.infer<typeof AgentState>;
export type Heartbeat = z.infer<typeof Heartbeat>;
export type AgentStatus = z.infer<typeof AgentStatus>;

// ---- controller → one agent --------------------------------------------------------------------

/** An agent's own secret: `ma1.` and 43 base64url characters (256 random bits). */
export const AgentSecret = z.string().regex(AGENT_SECRET, 'agent secret must be ma1. and 43 base64url characters');
/**
 * `muster/credentials/<agentId>`: the agent's own secret, sent after a hello made with the
 * bootstrap token; only the client with that id receives it. Never retained.
 */
export const AgentCredential = z.object({ v, agentId: AgentId, secret: AgentSecret });
export type AgentCredential = z.infer<typeof AgentCredential>;

// ---- controller → everyone ---------------------------------------------------------------------

/** `muster/nodes/<node>/state` (retained): the node's axes, each with the time it last changed. */
export const NodeState = z.object({
  v,
  node: NodeName,
  phase: Phase,
  phaseSince: epochMs,
  liveness: Liveness,
  livenessSince: epochMs,
  admin: Admin,
  /** Why the node is admin-offline (Slurm style: always given), or null when online. */
  reason: text(1024).nullable(),
  adminBy: text(128).nullable(),
  adminSince: epochMs,
  power: Power,
  powerSince: epochMs,
  /** Number of open hardware-log issues. */
  faults: z.number().int().nonnegative(),
  /** Time of the latest change on any axis. */
  since: epochMs,
  agentId: AgentId.nullable(),
  bootId: BootId.nullable(),
});
export type NodeState = z.infer<typeof NodeState>;

export const EventKind = z.enum([
  'discovered', // an unknown agent said hello
  'assigned', // an agent was bound to a node (by rule or by an admin)
  'transition', // a node changed on one axis
  'conflict', // two agents claim one node, one agent matches two nodes, or a connect as a node's agent was refused
  'drift', // an assigned node's fingerprint changed (NIC swapped, board replaced)
  'policy', // a policy detected something wrong
  'action', // an automatic or manual action (power, console capture) started or finished
  'incident', // the mass-silence breaker tripped or was resumed
  'hwlog', // a hardware-log issue was opened or closed
  'rejected', // a message was refused (schema, authorisation)
  'console', // a console pattern matched (panic, login prompt…)
  'build', // the build system prepared, finished or failed a node
  'boot', // a step of a machine's network boot (DHCP, PXE, TFTP) as muster's dnsmasq saw it
  'degraded', // the store cannot be written (disk full): changes are refused; or it can again
]);
export type EventKind = z.infer<typeof EventKind>;

/** `muster/events/<kind>`: what happened, to which node, when, and the evidence. */
export const Event = z.object({
  v,
  kind: EventKind,
  at: epochMs,
  node: NodeName.nullable(),
  agentId: AgentId.nullable(),
  /** One line for people: `n012 phase kernel → init (agent state)`. */
  message: text(2048),
  details: z.record(z.string(), z.unknown()),
});
export type Event = z.infer<typeof Event>;

/**
 * `boot`: the steps of a network boot muster's dnsmasq saw (DHCP, TFTP) and the boot scripts fetched.
 * `action`: what muster or an admin did to the node (power, console-tail, offline/online, assign,
 * define/set/undefine): `to` is `ACTION started|done|failed`, `by` who, `attempt` the policy's.
 */
export const Axis = z.enum(HISTORY_AXES);
export type Axis = z.infer<typeof Axis>;
/** `details` of a `transition` event and one journal line. */
export const Transition = z.object({
  node: NodeName,
  axis: Axis,
  from: z.string().nullable(),
  to: z.string().nullable(),
  /** What caused it: `agent state`, `heartbeat timeout`, `will`, `admin alice: disk swap`, … */
  cause: text(1024),
  at: epochMs,
  /** `action` lines: the user, or `policy NAME`. */
  by: text(128).optional(),
  /** `action` lines of a policy: its corrective attempt (1-based). */
  attempt: z.number().int().positive().optional(),
});
export type Transition = z.infer<typeof Transition>;

/**
 * What muster will do about a node next, and why or why not (`show`, `nodes --why`, the
 * dashboard): worded from the decision the state manager acts on.
 * - `idle`, `never-seen`: nothing to do (muster acts only on nodes that have booted once);
 * - `watching`: a policy acts at `at` unless the node makes progress;
 * - `held`: a problem (or the node's admin state) waits on `hold`, until `at` when known;
 * - `acting`: an action is in flight or due now (`action`, `attempt` of `maxAttempts`).
 */
export const NodeNext = z.object({
  state: z.enum(['idle', 'never-seen', 'watching', 'held', 'acting']),
  /** The guard holding muster back: `admin-offline`, `conflict`, `breaker`, `grace`, `backoff`, `dry-run`, … */
  hold: text(32).nullable(),
  /** The policy that sees a problem (or will act at `at`). */
  policy: text(32).nullable(),
  action: text(32).nullable(),
  attempt: z.number().int().nonnegative().nullable(),
  maxAttempts: z.number().int().nonnegative().nullable(),
  /** Since when the problem, or the state it is about, has lasted. */
  since: z.iso.datetime().nullable(),
  /** When muster acts, or the hold ends, when known. */
  at: z.iso.datetime().nullable(),
  /** One line for people, times as ISO-8601. */
  summary: text(1024),
});
export type NodeNext = z.infer<typeof NodeNext>;

// ---- CLI ⇄ controller (zigbee2mqtt bridge style; MQTT 3.1.1 has no response topics) ----------

/** `muster/request/<verb>`: the reply goes to `muster/response/<replyTo>`. */
export const Request = z.object({
  v,
  id: text(64).min(1),
  replyTo: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'replyTo must be a topic-safe client id'),
  args: z.record(z.string(), z.unknown()),
});
export const Response = z.object({
  v,
  id: text(64),
  ok: z.boolean(),
  data: z.unknown().optional(),
  error: text(4096).optional(),
  /** With an error: what kind (`role`, `bad-arguments`, `internal`, or the error's own code). */
  code: text(64).optional(),
});
export type Request = z.infer<typeof Request>;
export type Response = z.infer<typeof Response>;

/** A controller id (config `federation.id`): topic-safe. */
const ControllerId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'controller id must be 1 to 63 letters, digits, ".", "_" or "-"');
/**
 * A part of a request, forwarded by the controller that took it to the controller owning its
 * nodes (`<prefix>/controllers/<owner>/request`). It carries who asked: the original client
 * (`replyTo`) and the user and role the first controller authenticated; answered on
 * `<prefix>/controllers/<from>/response`.
 */
export const ForwardedRequest = z.object({
  v,
  id: text(64).min(1),
  from: ControllerId,
  verb: text(64).min(1),
  replyTo: Request.shape.replyTo,
  user: text(128).min(1),
  role: z.enum(['viewer', 'operator', 'admin']),
  args: z.record(z.string(), z.unknown()),
});
export type ForwardedRequest = z.infer<typeof ForwardedRequest>;
/** The owner has the part and works on it: sent at once and every few seconds until the answer (a Response). */
export const ForwardAccepted = z.object({ v, id: text(64), accepted: z.literal(true) });
export const ForwardAnswer = z.union([ForwardAccepted, Response]);
export type ForwardAnswer = z.infer<typeof ForwardAnswer>;

/** Largest payload any muster message may have; the broker and ingest refuse bigger ones. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

// ---- helpers -----------------------------------------------------------------------------------

/** Parse and describe the first problem in a form people can act on: `fingerprint.nics.0.mac: MAC must …`. */
export function parseMessage<T>(schema: z.ZodType<T>, value: unknown): { ok: true; value: T } | { ok: false; error: string } {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, error: describeZodError(r.error) };
}

/** JSON text (or bytes) → a checked message; bad JSON is reported like a schema error. */
export function decodeMessage<T>(schema: z.ZodType<T>, payload: Buffer | string): { ok: true; value: T } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  return parseMessage(schema, json);
}

export function describeZodError(error: z.ZodError): string {
  const first = error.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`);
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return first.join('; ') + more;
}
