/**
 * What each request verb answers, declared once: the controller's handlers must return these
 * shapes (a handler returning another fails typecheck) and the CLI and the dashboard read them.
 */
import type { Role } from '../auth.js';
import type { HwlogSource } from './args.js';
import type { InterfaceConfig } from '../node-network.js';
import type { StateCounts } from '../state-counts.js';
import type { Fingerprint, NodeNext, NodeState, Power, Transition } from '../protocol.js';

// ---- nodes -------------------------------------------------------------------------------------

/** A node's state on each axis with the time each last changed: a `NodeState` without its identifiers. */
export type NodeStateAxes = Pick<NodeState, 'phase' | 'phaseSince' | 'liveness' | 'livenessSince' | 'admin' | 'adminSince' | 'adminBy' | 'reason' | 'power' | 'powerSince' | 'faults' | 'since'>;

/**
 * What `offline` and `online` answer: the nodes changed and, with several controllers, the nodes
 * whose owner refused or did not answer, each with why (`node n012: … controller c2 … did not answer`).
 */
export interface AdminChange {
  nodes: string[];
  failed?: Array<{ node: string; error: string }>;
}

/** A node's working power target that `define`/`set` replaced (passwords hidden). */
export interface PowerReplaced {
  node: string;
  from: string;
  to: string | null;
}

/** One row of `nodes`: a node's definition summary and its live state on each axis (as `NodeState`). */
export interface NodeRow extends NodeStateAxes {
  node: string;
  groups: string[];
  agentId: string | null;
  image: string | null;
  /** With `why`: what muster will do about the node next and why. */
  next?: NodeNext | null;
  /** Its build's last word, when it had one since the controller started. */
  build: BuildLatest | null;
}

/** `show`: a node's definition (power and console targets redacted) and its state. */
export interface ShownNode {
  name: string;
  groups: string[];
  ids: { macs: string[]; serial: string | null; uuid: string | null; ibGuids: string[]; switchPort: { switch: string; port: string } | null };
  agentId: string | null;
  /** The fingerprint as it was when the agent was bound. */
  fingerprint: Fingerprint | null;
  power: string | null;
  console: string | null;
  image: string | null;
  tags: string[];
  /** The `disk` build system's target disk rule; null: the first fixed disk. */
  disk: string | null;
  interfaces: InterfaceConfig[];
  attrs: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  state: NodeState | null;
  /** The identity conflict holding its automatic actions until an admin decides, or null. */
  conflict: NodeConflict | null;
  /** What muster will do about the node next and why, or why not. */
  next: NodeNext | null;
  /** Its build's last word, when it had one since the controller started. */
  build: BuildLatest | null;
}

/** A claim on a node that contradicted its record (identification): who, why, since when. */
export interface NodeConflict {
  agentId: string | null;
  reason: string;
  since: number;
}

export interface NodeHistory {
  transitions: Transition[];
  /** Journal lines that could not be read. */
  skipped: number;
}

/** `summary`: node counts of one group (or `all`, last) per phase, liveness and admin state, and per hold. */
export interface GroupSummary extends StateCounts {
  group: string;
}

/** An agent that said hello but is not bound to a node. */
export interface DiscoveredAgent {
  agentId: string;
  macs: string[];
  serial: string | null;
  uuid: string | null;
  product: string | null;
  lastSeen: number;
  /** Connected now. */
  live: boolean;
  phase: string | null;
}

export interface NamingRule {
  enabled: boolean;
  pattern: string;
}

// ---- power, consoles, build ----------------------------------------------------------------------

export interface PowerResult {
  node: string;
  ok: boolean;
  /** The state read, for `status`. */
  state?: Power;
  /** One line with context (`node n012: ipmi power off failed: …`), no secrets. */
  error?: string;
  /** Why it failed: a driver error code, or `target` for a node whose power target is unusable. */
  code?: string;
  /** Time from this node's start to its result. */
  ms: number;
}

export interface ConsoleStatus {
  node: string;
  target: string;
  connected: boolean;
  /** Since when the console has been connected, or disconnected. */
  since: number;
  /** Why it is not connected, if it is not. */
  reason: string | null;
  /** Who the one writer is (`alice@ws1`: the user and the host its client reported), or null. */
  writer: string | null;
}

export interface ImageInfo {
  name: string;
  /** One line for people (kernel/initrd sizes, the tool's description). */
  detail?: string;
  addedAt?: number;
  /** `netboot` (boots a build), `diskless` (the image is the node's system, from RAM) or `disk` (installed on the node's disk). */
  kind?: string;
  /** Bytes the node fetches (kernel + initrd, + the disk image of a `disk` one). */
  sizeBytes?: number;
  /** sha256 of the disk image of a `disk` one, else of the initrd (of a built OS image: its root). */
  sha256?: string;
}

export interface OsImageFile {
  path: string;
  sizeBytes: number;
  sha256: string;
}

/** `image-build`: the catalog entry, the image's files and whether they came from the cache. */
export interface ImageBuildResult {
  /** The netboot catalog's (RAM boot) entry. */
  image: ImageInfo;
  /** The disk catalog's entry. */
  diskImage: ImageInfo;
  cached: boolean;
  manifest: {
    key: string;
    /** What the key was made of. */
    inputs: { suite: string; packages: string[]; kernelFlavour: string; agentSha256: string; scriptVersion: string };
    buildMs: number;
    builtAt: number;
    kernel: OsImageFile;
    root: OsImageFile;
    installer: OsImageFile;
    disk: OsImageFile;
  };
}

export interface BuildResult {
  node: string;
  ok: boolean;
  system?: string;
  error?: string;
}

/** The last word of a node's build as the controller heard it since it started (`nodes`, `show`). */
export interface BuildLatest {
  system: string | null;
  state: 'prepared' | 'building' | 'done' | 'failed';
  /** `45% writing image to /dev/vda`, `installed image deb (…); boots its disk`, the error. */
  detail: string;
  at: number;
}

export interface BuildStatusRow {
  node: string;
  /** idle, prepared, building, done, failed; `unknown` when the build system could not say. */
  state: string;
  detail?: string;
  since?: number;
  system: string | null;
}

// ---- records -----------------------------------------------------------------------------------

export interface HwlogIssue {
  id: number;
  node: string;
  text: string;
  source: HwlogSource;
  evidence: Record<string, unknown>;
  openedAt: number;
  openedBy: string;
  closedAt: number | null;
  closedBy: string | null;
  note: string | null;
}

export interface SwitchInfo {
  name: string;
  mgmt: string | null;
  kind: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface SwitchRow extends SwitchInfo {
  ports: Array<{ port: string; node: string; nic: string | null }>;
}

export interface SwitchPortEntry {
  switch: string;
  port: string;
  node: string;
  nic?: string;
}

/** A group's own desired settings, or each node's effective ones with where each comes from (`group rack1`, `node n001`). */
export type BiosSetResult = { group: string; desired: Record<string, string> } | { nodes: readonly string[]; desired: Record<string, Record<string, { value: string; from: string }>> };

export interface BiosDiffRow {
  node: string;
  /** When the node last reported, or null if never. */
  reportedAt: number | null;
  /** Why the BMC could not be read now (the row then shows the last reading). */
  error?: string;
  /**
   * `actual` null: no source reported this key (no report yet, or a node without a Redfish BMC);
   * `pending`: the value written to the BMC, applied at its next reset; null when none is.
   */
  drift: Array<{ key: string; desired: string; actual: string | null; pending: string | null; from: string }>;
}

export interface BiosApplyRow {
  node: string;
  ok: boolean;
  /** Attributes written to the BMC's Settings resource: pending until the node's next reset. */
  written: Record<string, string | number | boolean>;
  error?: string;
}

export interface SiteProblem {
  /** 1-based line in the file, or null for the file as a whole. */
  line: number | null;
  message: string;
}

export interface ImportSummary {
  nodes: { created: string[]; updated: string[] };
  switches: { created: string[]; updated: string[] };
  ports: number;
  bios: number;
  /** Hardware-log entries in the file: a record of the past, not imported. */
  hwlogIgnored: number;
}

/** What an import of a whole file did, or would do (dry run), or why nothing was imported. */
export type ImportOutcome = { imported: false; problems: SiteProblem[] } | ({ imported: boolean; dryRun?: true } & ImportSummary);
/** A part of a larger file answers `received` until the last part is in. */
export type ImportResult = ImportOutcome | { received: number };

// ---- policy, users -----------------------------------------------------------------------------

export interface FrozenGroup {
  group: string;
  since: number;
}

export interface UserInfo {
  name: string;
  role: Role;
  createdAt: number;
  createdBy: string;
}

export interface TokenInfo {
  id: string;
  /** `store` (made with token-create) or `config` (auth.agentTokens). */
  source: 'store' | 'config';
  note: string | null;
  createdAt: number | null;
  createdBy: string | null;
}

/** `dhcp-show`: what muster's dnsmasq runs with (docs/network.md). */
export interface DhcpConfig {
  config: string;
  hosts: string;
  /** grub/grub.cfg of the Secure Boot chain; null without `secureBoot`. */
  grub: string | null;
  files: { config: string; hosts: string; leases: string; grub: string | null };
}

/** `dhcp-leases`: one lease of muster's dnsmasq, with the node its MAC belongs to. */
export interface DhcpLease {
  mac: string;
  ip: string;
  hostname: string | null;
  /** ms since the epoch; null for an infinite lease. */
  expiresAt: number | null;
  node: string | null;
}

/** One check of `doctor`: what was found, and for a failure what fixes it. */
export interface DoctorCheck {
  /** A controller check's id, or `controller` for the CLI's own (reachable, version). */
  id: string;
  /** What is checked, for people: `data directory`, `power targets`. */
  title: string;
  /** `skip`: it does not apply here (no TLS configured, no provisioning network). */
  status: 'ok' | 'fail' | 'skip';
  /** One line: what was found. */
  detail: string;
  /** What to do, for a failure; null otherwise. */
  fix: string | null;
  /** Since when it has failed, where the controller knows (ms since the epoch). */
  since?: number;
}

/** `doctor`: the controller's version and its checks, in the order asked. */
export interface DoctorReport {
  version: string;
  checks: DoctorCheck[];
}
