import type { Context } from '../../context.js';
import { biosDiff, desiredFor, parseBiosSettings, setDesired, type BiosTarget } from '../../records/bios.js';
import type { BmcBios } from '../../records/bios-bmc.js';
import { RecordError } from '../../records/errors.js';
import { listIssues } from '../../records/hwlog.js';
import { closeHwlogIssue, openHwlogIssue } from '../../records/hwlog-service.js';
import { exportSite } from '../../records/site-export.js';
import { applyImport, planImportText } from '../../records/site-import.js';
import { listSwitches, mapPort, putSwitch } from '../../records/switches.js';
import { Uploads } from '../../records/uploads.js';
import { targetProblem } from '../../nodes/target-check.js';
import type { PowerService } from '../../power/service.js';
import { AllowedPrograms } from '../../process/allowed-programs.js';
import { verb, type Verb } from '../verb.js';

function nodesOf(ctx: Context, range: string | undefined): string[] | null {
  if (range === undefined || range === '' || range === 'all') return null;
  return ctx.nodes.resolve(range);
}

/**
 * The records verbs (hwlog, switches, BIOS, import/export). A factory: import keeps the parts of
 * a file being uploaded, per API server; BIOS settings reach Redfish BMCs through `bios`.
 */
export function recordVerbs(bios: BmcBios, power: PowerService): Verb[] {
  const uploads = new Uploads();
  return [
    verb('hwlog-open', async ({ node, text, evidence }, ctx, { user }) => {
      const { issue, created } = openHwlogIssue(ctx, { node, text, source: 'admin', evidence, by: user });
      await ctx.store.flush();
      return { issue, created };
    }),

    verb('hwlog-close', async ({ node, id, note }, ctx, { user }) => {
      const issue = closeHwlogIssue(ctx, { node, id, note, by: user });
      await ctx.store.flush();
      return issue;
    }),

    verb('hwlog-list', async ({ range, all }, ctx) => listIssues(ctx.store.data, nodesOf(ctx, range), !!all)),

    verb('switch-add', async ({ name, settings }, ctx) => {
      const spec: { name: string; mgmt?: string | null; kind?: string | null } = { name };
      for (const s of settings) {
        const m = /^(mgmt|kind)=(.*)$/.exec(s);
        if (!m) throw new RecordError(`switch ${name}: "${s}" is not mgmt=ADDRESS or kind=MODEL`);
        spec[m[1] as 'mgmt' | 'kind'] = m[2]!.trim() || null;
      }
      const created = ctx.store.change((d) => putSwitch(d, spec, ctx.now()));
      await ctx.store.flush();
      return { switch: ctx.store.data.switches[name]!, created };
    }),

    verb('switch-port', async (args, ctx) => {
      const entry = ctx.store.change((d) => mapPort(d, args));
      ctx.nodes.changed([]); // identification re-indexes the switch-port rule
      await ctx.store.flush();
      return entry;
    }),

    verb('switch-list', async (_a, ctx) => listSwitches(ctx.store.data)),

    verb('bios-set', async ({ target, settings }, ctx) => {
      const parsed = parseBiosSettings(settings);
      const isGroup = Object.hasOwn(ctx.nodes.groups(), target) && !ctx.nodes.get(target);
      const bios: BiosTarget = isGroup ? { kind: 'group', name: target } : { kind: 'nodes', names: ctx.nodes.resolve(target) };
      ctx.store.change((d) => setDesired(d, bios, parsed));
      await ctx.store.flush();
      return bios.kind === 'group'
        ? { group: target, desired: ctx.store.data.bios.desired.groups[target] ?? {} }
        : { nodes: bios.names, desired: Object.fromEntries(bios.names.map((n) => [n, desiredFor(ctx.store.data, n)])) };
    }),

    verb('bios-diff', async ({ range }, ctx) => {
      const nodes = ctx.nodes.resolve(range);
      const unread = await bios.read(ctx, nodes);
      await ctx.store.flush();
      return biosDiff(ctx.store.data, nodes).map((row) => (unread.has(row.node) ? { ...row, error: unread.get(row.node)! } : row));
    }),

    verb('bios-apply', async ({ range }, ctx, { user }) => {
      const rows = await bios.apply(ctx, ctx.nodes.resolve(range), `admin ${user}`);
      await ctx.store.flush();
      return rows;
    }),

    verb('import', async ({ text, format, upload, dryRun }, ctx) => {
      const whole = upload ? uploads.add(upload.id, upload.part, upload.parts, text, ctx.now()) : text;
      if (whole === null) return { received: upload!.part };
      const { plan, problems } = planImportText(ctx.store.data, whole, format);
      const programs = new AllowedPrograms(ctx.config.commands.allowedDirs);
      for (const { name, patch } of plan.nodes) {
        const problem = await targetProblem(power, programs, name, patch, ctx.nodes.get(name) ?? {});
        if (problem) problems.push({ line: null, message: problem });
      }
      // Problems are data, not an error message: a file may have more than an error line holds.
      if (problems.length) return { imported: false as const, problems };
      if (dryRun) return { imported: false, dryRun: true as const, ...applyImport(structuredClone(ctx.store.data), plan, ctx.now()) };
      const summary = ctx.store.change((d) => applyImport(d, plan, ctx.now()));
      const changed = [...summary.nodes.created, ...summary.nodes.updated];
      ctx.nodes.changed(changed);
      await ctx.store.flush();
      return { imported: true, ...summary };
    }),

    verb('export', async ({ format, showSecrets, hwlog }, ctx) => ({
      format: format ?? 'yaml',
      text: exportSite(ctx.store.data, { format: format ?? 'yaml', showSecrets, hwlog, now: ctx.now() }),
    })),
  ];
}
