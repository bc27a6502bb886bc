/**
 * Every request verb, declared once: its arguments (zod), what it answers, the least role that
 * may call it, and the CLI command that sends it. The controller binds a handler to each entry
 * (controller/api/verbs/), the API server checks roles from here, and the CLI client and the
 * dashboard type their requests from here. docs/protocol.md ("Adding a verb") has the recipe.
 */
import { z } from 'zod';
import { PasswordHash, Role, UserName, type Role as RoleName } from '../auth.js';
import { Axis, NodeName } from '../protocol.js';
import { DemoDrill, DoctorCheckId, MAX_UPLOAD_PARTS, OsImageInputs, PowerAction, SiteFormat, UPLOAD_PART_CHARS } from './args.js';
import type * as R from './results.js';

declare const resultType: unique symbol;
/** A type-only marker of what a verb answers (nothing is checked at run time). */
export interface Returns<T> {
  readonly [resultType]?: T;
}
const returns = <T>(): Returns<T> => ({});

export interface VerbSpec<A extends z.ZodType = z.ZodType, T = unknown> {
  /** One line: what the verb is for (listed when an unknown verb is asked for). */
  summary: string;
  /** The least role that may call the verb; checked before its arguments are parsed. */
  role: RoleName;
  /** A higher role for some arguments, checked once they are parsed (power status: viewer, the other actions: operator). */
  roleFor?(args: z.output<A>): RoleName;
  args: A;
  result: Returns<T>;
  /** The CLI command that sends it (`hwlog open`), or why no command does. */
  cli: string | { none: string };
}

const verb = <A extends z.ZodType, T>(spec: VerbSpec<A, T>): VerbSpec<A, T> => spec;

const Range = z.string().max(4096).optional();
const RequiredRange = z.string().min(1);
const NoArgs = z.object({});
/** Keystrokes per console-write (base64 doubles them, at most). */
const MAX_CONSOLE_INPUT = 4096;

export const VERBS = {
  // ---- nodes: viewer reads, admin defines ----
  nodes: verb({
    summary: 'list nodes with their state (with why: what muster will do next and why)',
    role: 'viewer',
    args: z.object({ range: Range, why: z.boolean().optional() }),
    result: returns<R.NodeRow[]>(),
    cli: 'nodes',
  }),
  show: verb({ summary: "one node's definition, identifiers, state and what muster will do next", role: 'viewer', args: z.object({ node: z.string() }), result: returns<R.ShownNode>(), cli: 'show' }),
  history: verb({
    summary: "a node's transitions and actions from the journal",
    role: 'viewer',
    args: z.object({ node: z.string(), since: z.number().optional(), axis: Axis.optional(), limit: z.number().int().positive().max(100_000).optional() }),
    result: returns<R.NodeHistory>(),
    cli: 'history',
  }),
  groups: verb({ summary: 'groups and their members', role: 'viewer', args: NoArgs, result: returns<Record<string, string[]>>(), cli: { none: 'read by shell completion (muster _names) and the dashboard' } }),
  summary: verb({ summary: 'node counts per group by phase, liveness, admin state and hold (Slurm sinfo)', role: 'viewer', args: z.object({ range: Range }), result: returns<R.GroupSummary[]>(), cli: 'summary' }),
  define: verb({ summary: 'create or change one or more nodes', role: 'admin', args: z.object({ range: z.string(), settings: z.array(z.string()).max(1000) }), result: returns<{ created: string[]; changed: string[]; replacedPower: R.PowerReplaced[] }>(), cli: 'define' }),
  set: verb({ summary: 'change settings of defined nodes', role: 'admin', args: z.object({ range: z.string(), settings: z.array(z.string()).min(1).max(1000) }), result: returns<{ changed: string[]; replacedPower: R.PowerReplaced[] }>(), cli: 'set' }),
  undefine: verb({ summary: 'remove node definitions', role: 'admin', args: z.object({ range: z.string() }), result: returns<{ removed: string[] }>(), cli: 'undefine' }),

  // ---- identification ----
  discovered: verb({ summary: 'agents that said hello but are not bound to a node', role: 'viewer', args: NoArgs, result: returns<R.DiscoveredAgent[]>(), cli: 'discovered' }),
  assign: verb({
    summary: 'bind an agent (by id or MAC) to a node name',
    role: 'admin',
    args: z.object({ agent: z.string().min(1).max(128), node: NodeName, force: z.boolean().default(false) }),
    result: returns<{ node: string; agentId: string }>(),
    cli: 'assign',
  }),
  'conflict-clear': verb({
    summary: "decide a node's identity conflict: its automatic actions resume, and its agent may come back with the token",
    role: 'admin',
    args: z.object({ node: NodeName }),
    result: returns<{ node: string; cleared: R.NodeConflict }>(),
    cli: 'conflict clear',
  }),
  naming: verb({
    summary: 'show or set the sequential naming rule for new machines',
    role: 'viewer',
    roleFor: (a) => (a.enabled === undefined && a.pattern === undefined ? 'viewer' : 'admin'),
    args: z.object({ enabled: z.boolean().optional(), pattern: z.string().min(1).max(256).optional() }),
    result: returns<R.NamingRule>(),
    cli: 'naming',
  }),

  // ---- admin state (Slurm drain / return to service) ----
  offline: verb({
    summary: 'take nodes out of automatic correction, with a reason',
    role: 'operator',
    args: z.object({ range: z.string(), reason: z.string().trim().min(1, 'a reason is required').max(1024) }),
    result: returns<R.AdminChange>(),
    cli: 'offline',
  }),
  online: verb({ summary: 'return nodes to service', role: 'operator', args: z.object({ range: z.string() }), result: returns<R.AdminChange>(), cli: 'online' }),

  // ---- power ----
  power: verb({
    summary: 'power on|off|cycle|reset|status a noderange (xCAT rpower)',
    role: 'viewer',
    roleFor: (a) => (a.action === 'status' ? 'viewer' : 'operator'),
    args: z.object({
      action: PowerAction,
      range: RequiredRange,
      concurrency: z.number().int().min(1).max(1000).optional(),
      staggerMs: z.number().int().min(0).max(60_000).optional(),
      timeoutMs: z.number().int().min(100).max(600_000).optional(),
      /** Tags the per-node `action` events, so the CLI can show progress. */
      requestId: z.string().max(64).optional(),
    }),
    result: returns<{ action: PowerAction; results: R.PowerResult[] }>(),
    cli: 'power',
  }),

  // ---- consoles (ConMan style: many readers, one writer) ----
  'console-tail': verb({ summary: 'the last lines of a node console log', role: 'viewer', args: z.object({ node: NodeName, lines: z.number().int().min(1).max(100_000).default(50) }), result: returns<{ node: string; lines: string[] }>(), cli: 'console' }),
  'console-attach': verb({
    summary: 'become the one writer of a node console (force: take it from its holder, who is told)',
    role: 'operator',
    args: z.object({
      node: NodeName,
      force: z.boolean().default(false),
      /** The client's host name, shown with the user to others (`alice@ws1`): information, not proof. */
      host: z.string().regex(/^[\x21-\x7e]{1,253}$/, 'host must be 1-253 printable characters without spaces').optional(),
    }),
    result: returns<{ node: string; displaced: string | null; status: R.ConsoleStatus }>(),
    cli: 'console',
  }),
  'console-write': verb({ summary: 'send keystrokes (base64) from the attached writer', role: 'operator', args: z.object({ node: NodeName, data: z.string().max(MAX_CONSOLE_INPUT * 2) }), result: returns<{ node: string }>(), cli: 'console' }),
  'console-detach': verb({ summary: 'stop being the writer of a node console', role: 'operator', args: z.object({ node: NodeName }), result: returns<{ node: string; released: boolean }>(), cli: 'console' }),
  consoles: verb({ summary: 'console status of every node that has one', role: 'viewer', args: NoArgs, result: returns<R.ConsoleStatus[]>(), cli: { none: 'a monitoring read; muster console works on one node' } }),

  // ---- demo rehearsal (Slurm's state=fail drills) ----
  demo: verb({
    summary: 'make a simulated node hang, panic or die, to watch muster detect and correct it (demo controllers only)',
    role: 'operator',
    args: z.object({ drill: DemoDrill, node: NodeName }),
    result: returns<{ node: string; drill: DemoDrill }>(),
    cli: 'demo',
  }),

  // ---- build ----
  images: verb({ summary: 'images known to the build systems', role: 'viewer', args: NoArgs, result: returns<Array<R.ImageInfo & { system: string }>>(), cli: 'image list' }),
  'image-build': verb({
    summary: 'build a Debian image for RAM boot with mmdebstrap (cached by its inputs) into the netboot catalog',
    role: 'admin',
    args: OsImageInputs.extend({ name: z.string().min(1).max(64) }),
    result: returns<R.ImageBuildResult>(),
    cli: 'image build',
  }),
  'image-add': verb({
    summary: 'add an image (kernel, initrd, command line) to a build system catalog',
    role: 'admin',
    args: z.object({
      name: z.string().min(1).max(64),
      kernel: z.string().min(1).max(4096),
      initrd: z.string().min(1).max(4096),
      /** The gzip'd disk image the `disk` build system's installer writes. */
      disk: z.string().min(1).max(4096).optional(),
      cmdline: z.string().max(2048).optional(),
      diskless: z.boolean().default(false),
      replace: z.boolean().default(false),
      system: z.string().default('netboot'),
    }),
    result: returns<R.ImageInfo>(),
    cli: 'image add',
  }),
  build: verb({ summary: 'prepare nodes to build (configure + prepare in their build system)', role: 'operator', args: z.object({ range: RequiredRange }), result: returns<{ results: R.BuildResult[] }>(), cli: 'build' }),
  'build-status': verb({ summary: "nodes' build state in their build system", role: 'viewer', args: z.object({ range: RequiredRange }), result: returns<R.BuildStatusRow[]>(), cli: 'build' }),

  // ---- records: hardware log, switches, BIOS, site file ----
  'hwlog-open': verb({
    summary: 'open a hardware-log issue for a node',
    role: 'operator',
    args: z.object({ node: z.string().max(64), text: z.string().max(4096), evidence: z.record(z.string(), z.unknown()).optional() }),
    result: returns<{ issue: R.HwlogIssue; created: boolean }>(),
    cli: 'hwlog open',
  }),
  'hwlog-close': verb({
    summary: 'close a hardware-log issue with a note',
    role: 'operator',
    args: z.object({ node: z.string().max(64), id: z.number().int().positive(), note: z.string().max(4096) }),
    result: returns<R.HwlogIssue>(),
    cli: 'hwlog close',
  }),
  'hwlog-list': verb({ summary: 'hardware-log issues (open ones unless all)', role: 'viewer', args: z.object({ range: Range, all: z.boolean().optional() }), result: returns<R.HwlogIssue[]>(), cli: 'hwlog list' }),
  'switch-add': verb({
    summary: 'add a switch or change its mgmt address / kind',
    role: 'admin',
    args: z.object({ name: z.string().max(128), settings: z.array(z.string().max(1024)).max(10) }),
    result: returns<{ switch: R.SwitchInfo; created: boolean }>(),
    cli: 'switch add',
  }),
  'switch-port': verb({
    summary: 'map a switch port to a node (and NIC)',
    role: 'admin',
    args: z.object({ switch: z.string().max(128), port: z.string().max(64), node: z.string().max(64), nic: z.string().max(64).optional() }),
    result: returns<R.SwitchPortEntry>(),
    cli: 'switch port',
  }),
  // ---- the provisioning network (controller config `network:`) ----
  'dhcp-show': verb({ summary: "muster's dnsmasq configuration and hosts file, as rendered from the node table", role: 'viewer', args: NoArgs, result: returns<R.DhcpConfig>(), cli: 'dhcp show' }),
  'dhcp-leases': verb({ summary: "muster's DHCP leases, each with its node", role: 'viewer', args: NoArgs, result: returns<R.DhcpLease[]>(), cli: 'dhcp leases' }),

  'switch-list': verb({ summary: 'switches and their port map', role: 'viewer', args: NoArgs, result: returns<R.SwitchRow[]>(), cli: 'switch list' }),
  'bios-set': verb({
    summary: 'set desired BIOS settings of a group or of nodes (key= removes)',
    role: 'admin',
    args: z.object({ target: z.string().max(4096), settings: z.array(z.string().max(1024)).min(1).max(1000) }),
    result: returns<R.BiosSetResult>(),
    cli: 'bios set',
  }),
  'bios-diff': verb({
    summary: 'desired vs actual vs pending BIOS settings per node (Redfish BMCs read now)',
    role: 'viewer',
    args: z.object({ range: Range }),
    result: returns<R.BiosDiffRow[]>(),
    cli: 'bios diff',
  }),
  'bios-apply': verb({
    summary: "write the differing desired BIOS settings to each Redfish BMC's Settings, applied at the next reset",
    role: 'admin',
    args: z.object({ range: RequiredRange }),
    result: returns<R.BiosApplyRow[]>(),
    cli: 'bios apply',
  }),
  import: verb({
    summary: 'import a site file (YAML or CSV): all of it, or nothing when any entry is wrong',
    role: 'admin',
    args: z.object({
      text: z.string().max(UPLOAD_PART_CHARS * 8),
      format: SiteFormat,
      /** A file larger than one message comes in parts: the import runs when the last one is in. */
      upload: z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/), part: z.number().int().nonnegative(), parts: z.number().int().min(1).max(MAX_UPLOAD_PARTS) }).optional(),
      dryRun: z.boolean().optional(),
    }),
    result: returns<R.ImportResult>(),
    cli: 'import',
  }),
  export: verb({
    summary: 'export nodes, switches, BIOS settings (and the hwlog) as a site file',
    role: 'viewer',
    roleFor: (a) => (a.showSecrets ? 'admin' : 'viewer'),
    args: z.object({ format: SiteFormat.optional(), showSecrets: z.boolean().optional(), hwlog: z.boolean().optional() }),
    result: returns<{ format: SiteFormat; text: string }>(),
    cli: 'export',
  }),

  // ---- policy ----
  'policy-status': verb({ summary: 'groups frozen by the mass-silence breaker', role: 'viewer', args: NoArgs, result: returns<{ frozen: R.FrozenGroup[] }>(), cli: 'policy status' }),
  'policy-resume': verb({
    summary: 'resume automatic actions of a group frozen by the breaker',
    role: 'operator',
    args: z.object({ group: z.string().min(1).max(63) }),
    result: returns<{ group: string; frozen: R.FrozenGroup[] }>(),
    cli: 'policy resume',
  }),

  // ---- site health ----
  doctor: verb({
    summary: "check the site from the controller's side: store, data directory, TLS, DHCP/TFTP, loaders, images, tokens, power targets, clocks",
    role: 'viewer',
    args: z.object({
      /** Only these checks (the dashboard asks for `store`); all when absent. */
      checks: z.array(DoctorCheckId).min(1).max(20).optional(),
      concurrency: z.number().int().min(1).max(1000).optional(),
      /** Tags the power check's per-node `action` events, so the CLI can show progress. */
      requestId: z.string().max(64).optional(),
    }),
    result: returns<R.DoctorReport>(),
    cli: 'doctor',
  }),

  // ---- users and agent tokens ----
  whoami: verb({ summary: 'the user and role this connection has', role: 'viewer', args: NoArgs, result: returns<{ user: string; role: RoleName }>(), cli: 'whoami' }),
  'user-add': verb({ summary: 'add a user with a role', role: 'admin', args: z.object({ name: UserName, role: Role, passwordHash: PasswordHash }), result: returns<{ name: string; role: RoleName }>(), cli: 'user add' }),
  'user-list': verb({ summary: 'users and their roles', role: 'admin', args: NoArgs, result: returns<R.UserInfo[]>(), cli: 'user list' }),
  'user-password': verb({
    summary: "set a user's password (and optionally role)",
    role: 'admin',
    args: z.object({ name: UserName, passwordHash: PasswordHash, role: Role.optional() }),
    result: returns<{ name: string; role: RoleName }>(),
    cli: 'user passwd',
  }),
  'user-remove': verb({ summary: 'remove a user', role: 'admin', args: z.object({ name: UserName }), result: returns<{ removed: string }>(), cli: 'user remove' }),
  'token-create': verb({ summary: 'mint an agent bootstrap token (shown once; only its hash is kept)', role: 'admin', args: z.object({ note: z.string().max(256).optional() }), result: returns<{ id: string; token: string }>(), cli: 'token create' }),
  'token-list': verb({ summary: 'agent tokens (ids, notes; config-file ones included)', role: 'admin', args: NoArgs, result: returns<R.TokenInfo[]>(), cli: 'token list' }),
  'token-revoke': verb({
    summary: 'revoke an agent token by id (new connections with it are refused)',
    role: 'admin',
    args: z.object({ id: z.string().regex(/^[0-9a-f]{12}$/, 'a token id is 12 hex digits (muster token list)') }),
    result: returns<{ revoked: string }>(),
    cli: 'token revoke',
  }),
};

export type VerbName = keyof typeof VERBS;
/** What a caller sends (defaults may be left out). */
export type VerbArgs<V extends VerbName> = z.input<(typeof VERBS)[V]['args']>;
/** What a handler receives, defaults filled in. */
export type VerbParsedArgs<V extends VerbName> = z.output<(typeof VERBS)[V]['args']>;
export type VerbResult<V extends VerbName> = (typeof VERBS)[V]['result'] extends Returns<infer T> ? T : never;

export const VERB_NAMES = Object.keys(VERBS) as VerbName[];

export function isVerbName(name: string): name is VerbName {
  return Object.hasOwn(VERBS, name);
}

