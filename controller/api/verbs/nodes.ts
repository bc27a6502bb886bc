import { closest } from '../../../shared/closest.js';
import { countState, emptyStateCounts } from '../../../shared/state-counts.js';
import type { GroupSummary, NodeRow, PowerReplaced } from '../../../shared/verbs/results.js';
import type { Context } from '../../context.js';
import { parseSettings, SettingError, type NodePatch } from '../../nodes/settings.js';
import { targetProblem } from '../../nodes/target-check.js';
import { AllowedPrograms } from '../../process/allowed-programs.js';
import type { BuildService } from '../../provision/service.js';
import { redactOptional, redactSecrets } from '../../auth/redact.js';
import type { PowerService } from '../../power/service.js';
import { journalAdminActions } from '../../store/action-journal.js';
import { ApiError, verb } from '../verb.js';

function mustGet(ctx: Context, name: string) {
  const node = ctx.nodes.get(name);
  if (!node) {
    const close = closest(name, ctx.nodes.names(), 3);
    throw new ApiError(`node ${name} is not defined${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}`);
  }
  return node;
}

/** One row per node: its definition summary plus its live state. */
function row(ctx: Context, build: BuildService, name: string): NodeRow {
  const n = ctx.nodes.get(name)!;
  const s = ctx.nodeStates.get(name);
  // A node without a state yet has been as it is since it was defined.
  const at = n.createdAt;
  return {
    node: name,
    groups: n.groups,
    phase: s?.phase ?? 'unknown',
    phaseSince: s?.phaseSince ?? at,
    liveness: s?.liveness ?? 'dead',
    livenessSince: s?.livenessSince ?? at,
    admin: s?.admin ?? 'online',
    adminSince: s?.adminSince ?? at,
    adminBy: s?.adminBy ?? null,
    reason: s?.reason ?? null,
    power: s?.power ?? 'unknown',
    powerSince: s?.powerSince ?? at,
    faults: s?.faults ?? 0,
    since: s?.since ?? at,
    agentId: n.agentId,
    image: n.image,
    build: build.latest(name),
  };
}

/** `node n1` or `nodes n1…n9`: whom a refused setting was for. */
const nodesLabel = (names: readonly string[]) => (names.length === 1 ? `node ${names[0]}` : `nodes ${names[0]}…${names.at(-1)}`);

/** The settings as a patch; a refusal names the nodes it was for. */
function patchFor(names: readonly string[], settings: readonly string[]): NodePatch {
  try {
    return parseSettings(settings);
  } catch (err) {
    if (err instanceof SettingError) throw new SettingError(`${nodesLabel(names)}: ${err.message}`);
    throw err;
  }
}

/** `image=` must name an image the nodes' build system has, and each node's targets parse (target-check.ts). */
async function checkPatch(ctx: Context, build: BuildService, power: PowerService, names: readonly string[], patch: NodePatch): Promise<void> {
  if (patch.image) await build.checkImage(names, patch.image, patch.groups);
  const programs = new AllowedPrograms(ctx.config.commands.allowedDirs);
  for (const name of names) {
    const problem = await targetProblem(power, programs, name, patch, ctx.nodes.get(name) ?? {});
    if (problem) throw new SettingError(problem);
  }
}

/** Nodes whose working power target the patch replaces, old → new (passwords hidden). */
function replacedPower(ctx: Context, names: readonly string[], patch: NodePatch): PowerReplaced[] {
  if (patch.power === undefined) return [];
  return names.flatMap((node) => {
    const from = ctx.nodes.get(node)?.power ?? null;
    return from && from !== patch.power ? [{ node, from: redactSecrets(from), to: redactOptional(patch.power ?? null) }] : [];
  });
}

/** A new power target is read at once, so `show` says `on`/`off` now rather than after the next sync. */
function readPower(power: PowerService, names: readonly string[], patch: NodePatch): void {
  if (patch.power) void power.run('status', names, { by: 'power sync', quiet: true });
}

/** The keys a define or set changed, for the journal: values may hold secrets (`power=ipmi://user:pw@…`). */
function settingKeys(settings: readonly string[]): string {
  return settings.length ? `settings ${settings.map((s) => s.split('=')[0]).join(', ')}` : 'no settings';
}

export const nodeVerbs = (build: BuildService, power: PowerService) => [
  verb('nodes', async ({ range, why }, ctx) => ctx.nodes.resolve(range).map((n) => (why ? { ...row(ctx, build, n), next: ctx.nodeStates.next(n) } : row(ctx, build, n)))),

  verb('show', async ({ node }, ctx) => {
    const n = mustGet(ctx, node);
    return {
      ...n,
      runtime: undefined,
      power: redactOptional(n.power),
      console: redactOptional(n.console),
      state: ctx.nodeStates.get(node),
      conflict: ctx.nodeStates.conflict(node),
      next: ctx.nodeStates.next(node),
      build: build.latest(node),
    };
  }),

  verb('history', async ({ node, since, axis, limit }, ctx) => {
    mustGet(ctx, node);
    return ctx.journal.history({ node, since, axis, limit: limit ?? 1000 });
  }),

  verb('define', async ({ range, settings }, ctx, { user }) => {
    const names = ctx.nodes.resolveNew(range);
    const patch = patchFor(names, settings);
    await checkPatch(ctx, build, power, names, patch);
    const replaced = replacedPower(ctx, names, patch);
    const created: string[] = [];
    for (const name of names) {
      if (ctx.nodes.define(name, patch, ctx.now())) created.push(name);
    }
    await ctx.store.flush();
    readPower(power, names, patch);
    journalAdminActions(ctx, names, 'define', user, settingKeys(settings));
    return { created, changed: names.filter((n) => !created.includes(n)), replacedPower: replaced };
  }),

  verb('set', async ({ range, settings }, ctx, { user }) => {
    const names = ctx.nodes.resolve(range);
    const patch = patchFor(names, settings);
    await checkPatch(ctx, build, power, names, patch);
    const replaced = replacedPower(ctx, names, patch);
    ctx.nodes.set(names, patch, ctx.now());
    await ctx.store.flush();
    readPower(power, names, patch);
    journalAdminActions(ctx, names, 'set', user, settingKeys(settings));
    return { changed: names, replacedPower: replaced };
  }),

  verb('undefine', async ({ range }, ctx, { user }) => {
    const names = ctx.nodes.resolve(range);
    for (const n of names) ctx.nodes.remove(n);
    await ctx.store.flush();
    journalAdminActions(ctx, names, 'undefine', user, 'definition removed');
    return { removed: names };
  }),

  verb('groups', async (_a, ctx) => ctx.nodes.groups()),

  verb('summary', async ({ range }, ctx) => {
    const rows = new Map<string, GroupSummary>();
    const count = (group: string, r: NodeRow, hold: string | null) => {
      let s = rows.get(group);
      if (!s) rows.set(group, (s = { group, ...emptyStateCounts() }));
      countState(s, r, hold);
    };
    for (const name of ctx.nodes.resolve(range)) {
      const r = row(ctx, build, name);
      const next = ctx.nodeStates.next(name);
      const hold = next?.state === 'held' ? next.hold : null;
      for (const g of r.groups.length ? r.groups : ['(none)']) count(g, r, hold);
      count('all', r, hold);
    }
    return [...rows.values()].sort((a, b) => (a.group === 'all' ? 1 : b.group === 'all' ? -1 : a.group.localeCompare(b.group)));
  }),
];
