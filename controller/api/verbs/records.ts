import { z } from 'zod';
import type { Context } from '../../context.js';
import { biosDiff, desiredFor, parseBiosSettings, setDesired, type BiosTarget } from '../../records/bios.js';
import { RecordError } from '../../records/errors.js';
import { listIssues } from '../../records/hwlog.js';
import { closeHwlogIssue, openHwlogIssue } from '../../records/hwlog-service.js';
import { exportSite } from '../../records/site-export.js';
import { applyImport, planImportText } from '../../records/site-import.js';
import { listSwitches, mapPort, putSwitch } from '../../records/switches.js';
import { MAX_UPLOAD_PARTS, UPLOAD_PART_CHARS, Uploads } from '../../records/uploads.js';
import { verb, type Verb } from '../verb.js';

const Range = z.string().max(4096).optional();
const By = z.string().trim().min(1).max(128).optional();
const Format = z.enum(['yaml', 'csv']);

/** Who did it: the name the CLI sends, else `admin` (the lead adds authenticated users later). */
const who = (by: string | undefined) => by ?? 'admin';

function nodesOf(ctx: Context, range: string | undefined): string[] | null {
  if (range === undefined || range === '' || range === 'all') return null;
  return ctx.nodes.resolve(range);
}

/**
 * The records verbs (hwlog, switches, BIOS, import/export). A factory: import keeps the parts of
 * a file being uploaded, per API server.
 */
export function recordVerbs(): Verb[] {
  const uploads = new Uploads();
  return [
    verb(
      'hwlog-open',
      'open a hardware-log issue for a node',
      z.object({ node: z.string().max(64), text: z.string().max(4096), by: By, evidence: z.record(z.string(), z.unknown()).optional() }),
      async ({ node, text, by, evidence }, ctx) => {
        const { issue, created } = openHwlogIssue(ctx, { node, text, source: 'admin', evidence, by: who(by) });
        await ctx.store.flush();
        return { issue, created };
      },
    ),

    verb('hwlog-close', 'close a hardware-log issue with a note', z.object({ node: z.string().max(64), id: z.number().int().positive(), note: z.string().max(4096), by: By }), async ({ node, id, note, by }, ctx) => {
      const issue = closeHwlogIssue(ctx, { node, id, note, by: who(by) });
      await ctx.store.flush();
      return issue;
    }),

    verb('hwlog-list', 'hardware-log issues (open ones unless all)', z.object({ range: Range, all: z.boolean().optional() }), async ({ range, all }, ctx) =>
      listIssues(ctx.store.data, nodesOf(ctx, range), !!all),
    ),

    verb('switch-add', 'add a switch or change its mgmt address / kind', z.object({ name: z.string().max(128), settings: z.array(z.string().max(1024)).max(10) }), async ({ name, settings }, ctx) => {
      const spec: { name: string; mgmt?: string | null; kind?: string | null } = { name };
      for (const s of settings) {
        const m = /^(mgmt|kind)=(.*)$/.exec(s);
        if (!m) throw new RecordError(`switch ${name}: "${s}" is not mgmt=ADDRESS or kind=MODEL`);
        spec[m[1] as 'mgmt' | 'kind'] = m[2]!.trim() || null;
      }
      const created = ctx.store.change((d) => putSwitch(d, spec, ctx.now()));
      await ctx.store.flush();
      return { switch: ctx.store.data.switches[name], created };
    }),

    verb(
      'switch-port',
      'map a switch port to a node (and NIC)',
      z.object({ switch: z.string().max(128), port: z.string().max(64), node: z.string().max(64), nic: z.string().max(64).optional() }),
      async (args, ctx) => {
        const entry = ctx.store.change((d) => mapPort(d, args));
        ctx.nodes.changed([]); // identification re-indexes the switch-port rule
        await ctx.store.flush();
        return entry;
      },
    ),

    verb('switch-list', 'switches and their port map', z.object({}), async (_a, ctx) => listSwitches(ctx.store.data)),

    verb('bios-set', 'set desired BIOS settings of a group or of nodes (key= removes)', z.object({ target: z.string().max(4096), settings: z.array(z.string().max(1024)).min(1).max(1000) }), async ({ target, settings }, ctx) => {
      const parsed = parseBiosSettings(settings);
      const isGroup = Object.hasOwn(ctx.nodes.groups(), target) && !ctx.nodes.get(target);
      const bios: BiosTarget = isGroup ? { kind: 'group', name: target } : { kind: 'nodes', names: ctx.nodes.resolve(target) };
      ctx.store.change((d) => setDesired(d, bios, parsed));
      await ctx.store.flush();
      return bios.kind === 'group'
        ? { group: target, desired: ctx.store.data.bios.desired.groups[target] ?? {} }
        : { nodes: bios.names, desired: Object.fromEntries(bios.names.map((n) => [n, desiredFor(ctx.store.data, n)])) };
    }),

    verb('bios-diff', 'desired vs reported BIOS settings per node', z.object({ range: Range }), async ({ range }, ctx) => biosDiff(ctx.store.data, ctx.nodes.resolve(range))),

    verb(
      'import',
      'import a site file (YAML or CSV): all of it, or nothing when any entry is wrong',
      z.object({
        text: z.string().max(UPLOAD_PART_CHARS * 8),
        format: Format,
        /** A file larger than one message comes in parts: the import runs when the last one is in. */
        upload: z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/), part: z.number().int().nonnegative(), parts: z.number().int().min(1).max(MAX_UPLOAD_PARTS) }).optional(),
        dryRun: z.boolean().optional(),
      }),
      async ({ text, format, upload, dryRun }, ctx) => {
        const whole = upload ? uploads.add(upload.id, upload.part, upload.parts, text, ctx.now()) : text;
        if (whole === null) return { received: upload!.part };
        const { plan, problems } = planImportText(ctx.store.data, whole, format);
        // Problems are data, not an error message: a file may have more than an error line holds.
        if (problems.length) return { imported: false, problems };
        if (dryRun) return { imported: false, dryRun: true, ...applyImport(structuredClone(ctx.store.data), plan, ctx.now()) };
        const summary = ctx.store.change((d) => applyImport(d, plan, ctx.now()));
        const changed = [...summary.nodes.created, ...summary.nodes.updated];
        ctx.nodes.changed(changed);
        await ctx.store.flush();
        return { imported: true, ...summary };
      },
    ),

    verb('export', 'export nodes, switches, BIOS settings (and the hwlog) as a site file', z.object({ format: Format.optional(), showSecrets: z.boolean().optional(), hwlog: z.boolean().optional() }), async ({ format, showSecrets, hwlog }, ctx) => ({
      format: format ?? 'yaml',
      text: exportSite(ctx.store.data, { format: format ?? 'yaml', showSecrets, hwlog, now: ctx.now() }),
    })),
  ];
}
