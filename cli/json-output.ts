/**
 * The controller's answers as `--json` prints them (shared/cli-output.ts): `node` for a node's
 * name, the one `state` object, ISO-8601 times, every count present. The wire between CLI and
 * controller keeps its own shapes; only what a script reads is converted, here.
 */
import { HOLDS, msToIso, type CliJson, type CliJsonOutput, type NodeStateJson } from '../shared/cli-output.js';
import { Admin, Liveness, Phase, type Event, type Transition } from '../shared/protocol.js';
import type {
  BiosDiffRow,
  BuildLatest,
  BuildStatusRow,
  DhcpLease,
  DiscoveredAgent,
  DoctorCheck,
  FrozenGroup,
  GroupSummary,
  HwlogIssue,
  ImageBuildResult,
  ImageInfo,
  NodeRow,
  NodeStateAxes,
  PowerResult,
  ShownNode,
  SwitchInfo,
  SwitchRow,
  TokenInfo,
  UserInfo,
} from '../shared/verbs/results.js';

/** Pretty-printed, for one answer; `output` names the schema (shared/cli-output.ts) the value must have. */
export function printJson<K extends CliJsonOutput>(_output: K, value: CliJson<K>): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** One line, for a stream (`watch`). */
export function printJsonLine<K extends CliJsonOutput>(_output: K, value: CliJson<K>): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : msToIso(ms));
/** `{ key: ISO }`, or nothing for a time that is not there. */
const isoKey = <K extends string>(key: K, ms: number | undefined) => (ms === undefined ? {} : { [key]: msToIso(ms) }) as Partial<Record<K, string>>;

function stateJson(s: NodeStateAxes): NodeStateJson {
  return {
    phase: s.phase,
    phaseSince: msToIso(s.phaseSince),
    liveness: s.liveness,
    livenessSince: msToIso(s.livenessSince),
    admin: s.admin,
    adminSince: msToIso(s.adminSince),
    adminBy: s.adminBy,
    reason: s.reason,
    power: s.power,
    powerSince: msToIso(s.powerSince),
    faults: s.faults,
    since: msToIso(s.since),
  };
}

export const nodeRowJson = (r: NodeRow): CliJson<'nodes'>[number] => ({
  node: r.node,
  groups: r.groups,
  agentId: r.agentId,
  image: r.image,
  state: stateJson(r),
  build: buildJson(r.build),
  ...(r.next === undefined ? {} : { next: r.next }),
});

const buildJson = (b: BuildLatest | null) => b && { ...b, at: msToIso(b.at) };

export const shownNodeJson = (n: ShownNode): CliJson<'show'> => ({
  node: n.name,
  groups: n.groups,
  ids: n.ids,
  agentId: n.agentId,
  fingerprint: n.fingerprint,
  power: n.power,
  console: n.console,
  image: n.image,
  tags: n.tags,
  disk: n.disk,
  interfaces: n.interfaces,
  attrs: n.attrs,
  createdAt: msToIso(n.createdAt),
  updatedAt: msToIso(n.updatedAt),
  state: n.state && stateJson(n.state),
  conflict: n.conflict && { agentId: n.conflict.agentId, reason: n.conflict.reason, since: msToIso(n.conflict.since) },
  next: n.next,
  build: buildJson(n.build),
});

export const transitionJson = (t: Transition): CliJson<'history'>[number] => ({ ...t, at: msToIso(t.at) });

/**
 * A `transition` event's details are a journal line; other kinds' are their own evidence, as
 * published, with the one time among them (`degraded`'s `since`) as ISO-8601 too.
 */
export const eventJson = (e: Event): CliJson<'watch'> => {
  const common = { at: msToIso(e.at), agentId: e.agentId, message: e.message };
  if (e.kind === 'transition') return { kind: 'transition', node: e.node!, ...common, details: transitionJson(e.details as Transition) };
  const since = e.details.since;
  return { kind: e.kind, node: e.node, ...common, details: e.kind === 'degraded' && typeof since === 'number' ? { ...e.details, since: msToIso(since) } : e.details };
};

/** Every key counted, 0 where no node is. */
const counted = <K extends string>(keys: readonly K[], seen: Record<string, number>) => Object.fromEntries(keys.map((k) => [k, seen[k] ?? 0])) as Record<K, number>;

export const summaryJson = (r: GroupSummary): CliJson<'summary'>[number] => ({
  group: r.group,
  nodes: r.nodes,
  phase: counted(Phase.options, r.phase),
  liveness: counted(Liveness.options, r.liveness),
  admin: counted(Admin.options, r.admin),
  held: counted(HOLDS, r.held),
});

export const discoveredJson = (a: DiscoveredAgent): CliJson<'discovered'>[number] => ({ ...a, lastSeen: msToIso(a.lastSeen) });

/** The power state read is `power` (a node's `state` is the whole state object). */
export const powerResultJson = ({ state, ...r }: PowerResult): CliJson<'power'>[number] => ({ ...r, ...(state === undefined ? {} : { power: state }) });

export const imageJson = ({ addedAt, ...i }: ImageInfo): CliJson<'image add'> => ({ ...i, ...isoKey('addedAt', addedAt) });

export const imageBuildJson = (r: ImageBuildResult): CliJson<'image build'> => ({ ...r, image: imageJson(r.image), diskImage: imageJson(r.diskImage), manifest: { ...r.manifest, builtAt: msToIso(r.manifest.builtAt) } });

/** The build state is `build` (a node's `state` is the whole state object). */
export const buildStatusJson = ({ state, since, ...r }: BuildStatusRow): CliJson<'build --status'>[number] => ({ ...r, build: state, ...isoKey('since', since) });

export const hwlogIssueJson = (i: HwlogIssue): CliJson<'hwlog list'>[number] => ({ ...i, openedAt: msToIso(i.openedAt), closedAt: isoOrNull(i.closedAt) });

export const switchJson = (s: SwitchInfo): CliJson<'switch add'>['switch'] => ({ name: s.name, mgmt: s.mgmt, kind: s.kind, createdAt: msToIso(s.createdAt), updatedAt: msToIso(s.updatedAt) });
export const switchRowJson = (s: SwitchRow): CliJson<'switch list'>[number] => ({ ...switchJson(s), ports: s.ports });

export const biosDiffJson = (r: BiosDiffRow): CliJson<'bios diff'>[number] => ({ ...r, reportedAt: isoOrNull(r.reportedAt) });

export const leaseJson = (l: DhcpLease): CliJson<'dhcp leases'>[number] => ({ ...l, expiresAt: isoOrNull(l.expiresAt) });
export const frozenJson = (f: FrozenGroup): CliJson<'policy status'>[number] => ({ group: f.group, since: msToIso(f.since) });
export const userJson = (u: UserInfo): CliJson<'user list'>[number] => ({ ...u, createdAt: msToIso(u.createdAt) });
export const tokenJson = (t: TokenInfo): CliJson<'token list'>[number] => ({ ...t, createdAt: isoOrNull(t.createdAt) });
export const doctorCheckJson = ({ since, ...c }: DoctorCheck): CliJson<'doctor'>['checks'][number] => ({ ...c, ...isoKey('since', since) });
