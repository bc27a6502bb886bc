/**
 * What `muster … --json` prints: one zod schema per command's output, keyed by the command.
 * Scripts read these, so the pieces every output shares are declared once: a node is always
 * `node`, its state is always the one `state` object, times are ISO-8601 strings (durations stay
 * milliseconds, named `…Ms` or `ms`), and counts are present when zero. The CLI converts the
 * controller's answers to these shapes at its edge (cli/json-output.ts); the objects are strict, so a
 * key that is not declared here fails test/cli/json-contract.test.ts. docs/protocol.md "JSON
 * output" documents every key.
 */
import { z } from 'zod';
import { Role } from './auth.js';
import { InterfaceList } from './node-network.js';
import { Admin, AgentId, Axis, EventKind, Fingerprint, Liveness, NodeName, NodeNext, Phase, Power } from './protocol.js';
import { HwlogSource } from './verbs/args.js';

/** A point in time: `2026-12-02T08:30:00.000Z`. */
export const IsoTime = z.iso.datetime();
/** ms since the epoch → IsoTime. */
export const msToIso = (ms: number): string => new Date(ms).toISOString();

/**
 * Guards that hold muster back from a node (`NodeNext.hold` of a `held` node): the keys of
 * `summary`'s `held` counts.
 */
export const HOLDS = ['admin-offline', 'conflict', 'admin-action', 'action-in-flight', 'grace', 'breaker', 'settling', 'heartbeating', 'awaiting-boot', 'backoff', 'rate-limit', 'not-owner', 'dry-run'] as const;
export type HoldName = (typeof HOLDS)[number];

/** A node's state on each axis, with the time each last changed: `nodes`, `show`. */
export const NodeStateJson = z.strictObject({
  phase: Phase,
  phaseSince: IsoTime,
  liveness: Liveness,
  livenessSince: IsoTime,
  admin: Admin,
  adminSince: IsoTime,
  /** Who took it offline (or online), or null. */
  adminBy: z.string().nullable(),
  /** Why it is admin-offline, or null when online. */
  reason: z.string().nullable(),
  power: Power,
  powerSince: IsoTime,
  /** Open hardware-log issues. */
  faults: z.number().int().nonnegative(),
  /** The latest change on any axis. */
  since: IsoTime,
});
export type NodeStateJson = z.infer<typeof NodeStateJson>;

/** One journal line: `history` rows and the `details` of a `transition` in `watch`. */
export const TransitionJson = z.strictObject({
  node: NodeName,
  axis: Axis,
  from: z.string().nullable(),
  to: z.string().nullable(),
  cause: z.string(),
  at: IsoTime,
  by: z.string().optional(),
  attempt: z.number().int().positive().optional(),
});

/** One node's result of a power action (`power`, `build --reboot`). */
export const PowerResultJson = z.strictObject({
  node: NodeName,
  ok: z.boolean(),
  /** The power state read (`status`). */
  power: Power.optional(),
  error: z.string().optional(),
  code: z.string().optional(),
  ms: z.number().nonnegative(),
});

/** A node's build's last word since the controller started (`nodes`, `show`). */
const BuildLatestJson = z.strictObject({
  system: z.string().nullable(),
  state: z.enum(['prepared', 'building', 'done', 'failed']),
  detail: z.string(),
  at: IsoTime,
});

const ImageJson = z.strictObject({
  name: z.string(),
  detail: z.string().optional(),
  addedAt: IsoTime.optional(),
  kind: z.string().optional(),
  sizeBytes: z.number().int().nonnegative().optional(),
  sha256: z.string().optional(),
});
const OsImageFileJson = z.strictObject({ path: z.string(), sizeBytes: z.number().int().nonnegative(), sha256: z.string() });

const HwlogIssueJson = z.strictObject({
  id: z.number().int().positive(),
  node: NodeName,
  text: z.string(),
  source: HwlogSource,
  evidence: z.record(z.string(), z.unknown()),
  openedAt: IsoTime,
  openedBy: z.string(),
  closedAt: IsoTime.nullable(),
  closedBy: z.string().nullable(),
  note: z.string().nullable(),
});

const SwitchJson = z.strictObject({ name: z.string(), mgmt: z.string().nullable(), kind: z.string().nullable(), createdAt: IsoTime, updatedAt: IsoTime });
const PowerReplacedJson = z.strictObject({ node: NodeName, from: z.string(), to: z.string().nullable() });
const counts = <K extends string>(keys: readonly K[]) => z.strictObject(Object.fromEntries(keys.map((k) => [k, z.number().int().nonnegative()])) as Record<K, z.ZodNumber>);
const NodeList = z.array(NodeName);

const ImportCounts = z.strictObject({ created: z.array(z.string()), updated: z.array(z.string()) });

export const CLI_JSON = {
  nodes: z.array(
    z.strictObject({
      node: NodeName,
      groups: z.array(z.string()),
      agentId: AgentId.nullable(),
      image: z.string().nullable(),
      state: NodeStateJson,
      build: BuildLatestJson.nullable(),
      /** With `--why` only. */
      next: NodeNext.nullable().optional(),
    }),
  ),
  show: z.strictObject({
    node: NodeName,
    groups: z.array(z.string()),
    ids: z.strictObject({
      macs: z.array(z.string()),
      serial: z.string().nullable(),
      uuid: z.string().nullable(),
      ibGuids: z.array(z.string()),
      switchPort: z.strictObject({ switch: z.string(), port: z.string() }).nullable(),
    }),
    agentId: AgentId.nullable(),
    fingerprint: Fingerprint.nullable(),
    /** The power and console targets (as set with `power=`, `console=`), passwords hidden. */
    power: z.string().nullable(),
    console: z.string().nullable(),
    image: z.string().nullable(),
    tags: z.array(z.string()),
    disk: z.string().nullable(),
    interfaces: InterfaceList,
    attrs: z.record(z.string(), z.string()),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    /** null only from a controller without a state manager. */
    state: NodeStateJson.nullable(),
    conflict: z.strictObject({ agentId: AgentId.nullable(), reason: z.string(), since: IsoTime }).nullable(),
    next: NodeNext.nullable(),
    build: BuildLatestJson.nullable(),
  }),
  history: z.array(TransitionJson),
  /** One object per line. */
  watch: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('transition'), at: IsoTime, node: NodeName, agentId: AgentId.nullable(), message: z.string(), details: TransitionJson }),
    z.strictObject({
      kind: EventKind.exclude(['transition']),
      at: IsoTime,
      node: NodeName.nullable(),
      agentId: AgentId.nullable(),
      message: z.string(),
      /** The evidence, as the event's kind has it (docs/protocol.md "events"). */
      details: z.record(z.string(), z.unknown()),
    }),
  ]),
  summary: z.array(
    z.strictObject({
      group: z.string(),
      nodes: z.number().int().nonnegative(),
      phase: counts(Phase.options),
      liveness: counts(Liveness.options),
      admin: counts(Admin.options),
      held: counts(HOLDS),
    }),
  ),
  discovered: z.array(
    z.strictObject({
      agentId: AgentId,
      macs: z.array(z.string()),
      serial: z.string().nullable(),
      uuid: z.string().nullable(),
      product: z.string().nullable(),
      lastSeen: IsoTime,
      live: z.boolean(),
      phase: z.string().nullable(),
    }),
  ),
  assign: z.strictObject({ node: NodeName, agentId: AgentId }),
  define: z.strictObject({ created: NodeList, changed: NodeList, replacedPower: z.array(PowerReplacedJson) }),
  set: z.strictObject({ changed: NodeList, replacedPower: z.array(PowerReplacedJson) }),
  undefine: z.strictObject({ removed: NodeList }),
  naming: z.strictObject({ enabled: z.boolean(), pattern: z.string() }),
  power: z.array(PowerResultJson),
  'image add': ImageJson,
  'image list': z.array(ImageJson.extend({ system: z.string() })),
  'image build': z.strictObject({
    image: ImageJson,
    diskImage: ImageJson,
    cached: z.boolean(),
    manifest: z.strictObject({
      key: z.string(),
      inputs: z.strictObject({ suite: z.string(), packages: z.array(z.string()), kernelFlavour: z.string(), agentSha256: z.string(), scriptVersion: z.string() }),
      buildMs: z.number().nonnegative(),
      builtAt: IsoTime,
      kernel: OsImageFileJson,
      root: OsImageFileJson,
      installer: OsImageFileJson,
      disk: OsImageFileJson,
    }),
  }),
  build: z.strictObject({
    build: z.array(z.strictObject({ node: NodeName, ok: z.boolean(), system: z.string().optional(), error: z.string().optional() })),
    /** With `--reboot`: the power cycle of the prepared nodes; else null. */
    power: z.array(PowerResultJson).nullable(),
  }),
  'build --status': z.array(
    z.strictObject({
      node: NodeName,
      system: z.string().nullable(),
      /** idle, prepared, building, done, failed; `unknown` when the build system could not say. */
      build: z.string(),
      detail: z.string().optional(),
      since: IsoTime.optional(),
    }),
  ),
  'hwlog open': z.strictObject({ created: z.boolean(), issue: HwlogIssueJson }),
  'hwlog list': z.array(HwlogIssueJson),
  'switch add': z.strictObject({ created: z.boolean(), switch: SwitchJson }),
  'switch list': z.array(SwitchJson.extend({ ports: z.array(z.strictObject({ port: z.string(), node: NodeName, nic: z.string().nullable() })) })),
  'bios set': z.union([
    z.strictObject({ group: z.string(), desired: z.record(z.string(), z.string()) }),
    z.strictObject({ nodes: NodeList.readonly(), desired: z.record(z.string(), z.record(z.string(), z.strictObject({ value: z.string(), from: z.string() }))) }),
  ]),
  'bios diff': z.array(
    z.strictObject({
      node: NodeName,
      reportedAt: IsoTime.nullable(),
      error: z.string().optional(),
      drift: z.array(z.strictObject({ key: z.string(), desired: z.string(), actual: z.string().nullable(), pending: z.string().nullable(), from: z.string() })),
    }),
  ),
  'bios apply': z.array(z.strictObject({ node: NodeName, ok: z.boolean(), written: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])), error: z.string().optional() })),
  import: z.union([
    z.strictObject({ imported: z.literal(false), problems: z.array(z.strictObject({ line: z.number().int().positive().nullable(), message: z.string() })) }),
    z.strictObject({ imported: z.boolean(), dryRun: z.literal(true).optional(), nodes: ImportCounts, switches: ImportCounts, ports: z.number().int().nonnegative(), bios: z.number().int().nonnegative(), hwlogIgnored: z.number().int().nonnegative() }),
  ]),
  'dhcp show': z.strictObject({
    config: z.string(),
    hosts: z.string(),
    grub: z.string().nullable(),
    files: z.strictObject({ config: z.string(), hosts: z.string(), leases: z.string(), grub: z.string().nullable() }),
  }),
  'dhcp leases': z.array(z.strictObject({ mac: z.string(), ip: z.string(), hostname: z.string().nullable(), expiresAt: IsoTime.nullable(), node: NodeName.nullable() })),
  'policy status': z.array(z.strictObject({ group: z.string(), since: IsoTime })),
  'user list': z.array(z.strictObject({ name: z.string(), role: Role, createdAt: IsoTime, createdBy: z.string() })),
  'token list': z.array(z.strictObject({ id: z.string(), source: z.enum(['store', 'config']), note: z.string().nullable(), createdAt: IsoTime.nullable(), createdBy: z.string().nullable() })),
  doctor: z.strictObject({
    ok: z.boolean(),
    checks: z.array(
      z.strictObject({
        id: z.string(),
        title: z.string(),
        status: z.enum(['ok', 'fail', 'skip']),
        detail: z.string(),
        fix: z.string().nullable(),
        since: IsoTime.optional(),
      }),
    ),
  }),
} as const;

/** A `--json` output: the command (`image list`), or the command and the option that changes its output (`build --status`). */
export type CliJsonOutput = keyof typeof CLI_JSON;
export type CliJson<K extends CliJsonOutput> = z.infer<(typeof CLI_JSON)[K]>;
