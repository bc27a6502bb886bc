/**
 * Records of the site: hardware log, switches and their port map, BIOS settings, and the site
 * file (`muster import` / `muster export`) that holds them all.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { MAX_IMPORT_BYTES, UPLOAD_PART_CHARS, type SiteFormat } from '../../shared/verbs/args.js';
import type { ImportOutcome, ImportResult } from '../../shared/verbs/results.js';
import type { ControllerClient } from '../client.js';
import { isoTime, table } from '../format.js';
import { reportSummary, shortError } from '../progress.js';
import { withController } from '../session.js';
import { biosDiffJson, hwlogIssueJson, printJson, switchJson, switchRowJson } from '../json-output.js';

export function registerRecordCommands(program: Command): void {
  registerHwlog(program);
  registerSwitch(program);
  registerBios(program);
  registerImportExport(program);
}

function registerHwlog(program: Command): void {
  const hwlog = program.command('hwlog').description('hardware log: issues with a machine, open until closed with a note');

  hwlog
    .command('open <node> <text...>')
    .description('open an issue for a node')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster hwlog open n007 "DIMM B2 correctable errors, ticket 4711"\n')
    .action(async (node: string, words: string[], o: { json?: boolean }, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('hwlog-open', { node, text: words.join(' ') }));
      if (o.json) return printJson('hwlog open', { created: r.created, issue: hwlogIssueJson(r.issue) });
      process.stdout.write(r.created ? `${node}: issue #${r.issue.id} opened\n` : `${node}: the same issue is already open as #${r.issue.id}\n`);
    });

  hwlog
    .command('close <node> <id>')
    .description('close an issue of a node, with a note saying what was done')
    .requiredOption('--note <text>', 'what was done (kept with the issue)')
    .addHelpText('after', '\nExample:\n  muster hwlog close n007 12 --note "DIMM B2 replaced"\n')
    .action(async (node: string, id: string, o: { note: string }, cmd: Command) => {
      const n = Number(id.replace(/^#/, ''));
      if (!Number.isInteger(n) || n <= 0) throw new Error(`hwlog close: "${id}" is not an issue number`);
      if (o.note.trim() === '') throw new Error('hwlog close: --note must not be empty');
      await withController(cmd, (c) => c.request('hwlog-close', { node, id: n, note: o.note }));
      process.stdout.write(`${node}: issue #${n} closed\n`);
    });

  hwlog
    .command('list [range]')
    .description('issues of the nodes (open ones; --all for closed ones too)')
    .option('--all', 'include closed issues')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  muster hwlog list\n  muster hwlog list rack1 --all\n')
    .action(async (range: string | undefined, o: { all?: boolean; json?: boolean }, cmd: Command) => {
      const rows = await withController(cmd, (c) => c.request('hwlog-list', { range, all: !!o.all }));
      if (o.json) return printJson('hwlog list', rows.map(hwlogIssueJson));
      const head = ['ID', 'NODE', 'OPENED', 'BY', 'SOURCE', ...(o.all ? ['CLOSED'] : []), 'TEXT'];
      const body = rows.map((i) => [`#${i.id}`, i.node, isoTime(i.openedAt), i.openedBy, i.source, ...(o.all ? [i.closedAt === null ? 'open' : `${isoTime(i.closedAt)} ${i.closedBy}: ${i.note ?? ''}`] : []), i.text]);
      process.stdout.write(table(head, body) + '\n');
    });
}

function registerSwitch(program: Command): void {
  const sw = program.command('switch').description('network switches and which node NIC is cabled to which port');

  sw.command('add <name> [settings...]')
    .description('add a switch, or change its settings: mgmt=ADDRESS kind=MODEL')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster switch add leaf1 mgmt=10.0.0.250 kind=arista-7050\n')
    .action(async (name: string, settings: string[], o: { json?: boolean }, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('switch-add', { name, settings }));
      if (o.json) return printJson('switch add', { created: r.created, switch: switchJson(r.switch) });
      process.stdout.write(`switch ${name} ${r.created ? 'added' : 'changed'}\n`);
    });

  sw.command('port <switch> <port> <node> [nic]')
    .description('record that NODE (its NIC: nic=eth0 or nic=MAC) is cabled to PORT of SWITCH')
    .addHelpText('after', '\nExamples:\n  muster switch port leaf1 Ethernet1/12 n012 nic=eth0\n  muster switch port leaf1 13 n013\n')
    .action(async (switchName: string, port: string, node: string, nic: string | undefined, _o: unknown, cmd: Command) => {
      if (nic !== undefined && !nic.startsWith('nic=')) throw new Error(`switch port: "${nic}" must be nic=NAME or nic=MAC`);
      await withController(cmd, (c) => c.request('switch-port', { switch: switchName, port, node, nic: nic?.slice(4) || undefined }));
      process.stdout.write(`${switchName} port ${port} → ${node}${nic ? ` (${nic.slice(4)})` : ''}\n`);
    });

  sw.command('list')
    .description('switches with their mapped ports')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster switch list\n')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const rows = await withController(cmd, (c) => c.request('switch-list'));
      if (o.json) return printJson('switch list', rows.map(switchRowJson));
      const body = rows.flatMap((s) => (s.ports.length ? s.ports : [null]).map((p) => [s.name, s.mgmt ?? '-', s.kind ?? '-', p?.port ?? '-', p?.node ?? '-', p?.nic ?? '']));
      process.stdout.write(table(['SWITCH', 'MGMT', 'KIND', 'PORT', 'NODE', 'NIC'], body) + '\n');
    });
}

function registerBios(program: Command): void {
  const bios = program.command('bios').description('BIOS settings: desired per group or node, drift from what nodes and BMCs report, written through Redfish BMCs');

  bios
    .command('set <target> <settings...>')
    .description('desired settings for a group (its exact name) or a noderange; key= removes a key; version= is the BIOS version')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  muster bios set compute version=2.1.3 SMT=disabled\n  muster bios set n007 SMT=enabled      (a node overrides its groups)\n  muster bios set n007 SMT=\n')
    .action(async (target: string, settings: string[], o: { json?: boolean }, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('bios-set', { target, settings }));
      if (o.json) return printJson('bios set', r);
      process.stdout.write('group' in r ? `group ${r.group}: desired BIOS settings changed\n` : `${r.nodes.length} node(s): desired BIOS settings changed\n`);
    });

  bios
    .command('diff [range]')
    .description('desired settings (and version) a node does not have yet: actual, and pending until its next reset; Redfish BMCs are read now; "?" = no source reports it')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster bios diff rack1\n')
    .action(async (range: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const rows = await withController(cmd, (c) => c.request('bios-diff', { range }));
      if (rows.some((r) => r.error)) process.exitCode = 1;
      if (o.json) return printJson('bios diff', rows.map(biosDiffJson));
      for (const r of rows) if (r.error) process.stderr.write(`${r.error} (showing its last reading)\n`);
      const body = rows.flatMap((r) => r.drift.map((d) => [r.node, d.key, d.desired, d.actual ?? '?', d.pending ?? '-', d.from]));
      process.stdout.write(table(['NODE', 'KEY', 'DESIRED', 'ACTUAL', 'PENDING', 'FROM'], body) + '\n');
      const differ = rows.filter((r) => r.drift.length > 0);
      const waiting = differ.filter((r) => r.drift.every((d) => d.pending === d.desired)).length;
      process.stdout.write(`${differ.length} node(s) differ${waiting ? ` (${waiting} only until the next reset)` : ''}, ${rows.length - differ.length} match\n`);
    });

  bios
    .command('apply <range>')
    .description("write the desired settings each node differs in to its Redfish BMC's Settings: pending until the node's next reset (muster power reset)")
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster bios apply rack1 && muster power reset rack1\n')
    .action(async (range: string, o: { json?: boolean }, cmd: Command) => {
      const rows = await withController(cmd, (c) => c.request('bios-apply', { range }));
      if (rows.some((r) => !r.ok)) process.exitCode = 1;
      if (o.json) return printJson('bios apply', rows);
      for (const r of rows) {
        const written = Object.entries(r.written).map(([k, v]) => `${k}=${v}`);
        process.stdout.write(`${r.node}: ${!r.ok ? `failed: ${shortError(r.node, r.error ?? '')}` : written.length ? `${written.join(' ')} pending until the next reset` : 'nothing to write'}\n`);
      }
      reportSummary(rows);
    });
}

function registerImportExport(program: Command): void {
  program
    .command('import <file>')
    .description('define nodes, switches and BIOS settings from a site file (YAML, or CSV node table); "-" reads stdin')
    .option('--format <format>', 'yaml or csv (default: from the file name, else yaml)')
    .option('--dry-run', 'check the file and say what would change, change nothing')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nNothing is imported from a file with any problem; every problem is listed with its line.\nSee docs/records.md for the file forms.\nExamples:\n  muster import rack1.yaml\n  muster import nodes.csv --dry-run\n')
    .action(async (file: string, o: { format?: string; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const format = siteFormat(o.format, file);
      const text = await readSiteFile(file);
      const r = await withController(cmd, (c) => sendImport(c, text, format, !!o.dryRun));
      if (o.json) printJson('import', r);
      if ('problems' in r) {
        if (!o.json) for (const p of r.problems) process.stderr.write(`${file}:${p.line ?? ''}${p.line === null ? ' ' : ': '}${p.message}\n`);
        throw new Error(`import: nothing imported from ${file}: ${r.problems.length} problem(s)`);
      }
      if (o.json) return;
      const verb = r.dryRun ? 'would be' : '';
      process.stdout.write(
        `${r.dryRun ? 'dry run: ' : ''}nodes: ${r.nodes.created.length} ${verb} created, ${r.nodes.updated.length} ${verb} updated; switches: ${r.switches.created.length} created, ${r.switches.updated.length} updated, ${r.ports} port(s) mapped; BIOS entries: ${r.bios}\n`.replace(/  +/g, ' '),
      );
      if (r.hwlogIgnored) process.stdout.write(`${r.hwlogIgnored} hwlog entr${r.hwlogIgnored === 1 ? 'y' : 'ies'} in the file not imported (the hardware log is a record, not configuration)\n`);
    });

  program
    .command('export')
    .description('write nodes, switches and BIOS settings as a site file (YAML), or the node table (CSV)')
    .option('--format <format>', 'yaml or csv', 'yaml')
    .option('--show-secrets', 'include passwords of power URLs (default: ***; a re-import keeps the stored ones)')
    .option('--hwlog', 'include the hardware log (YAML only; never imported)')
    .option('-o, --output <file>', 'write to FILE instead of standard output')
    .addHelpText('after', '\nExamples:\n  muster export > site.yaml\n  muster export --format csv -o nodes.csv\n')
    .action(async (o: { format: string; showSecrets?: boolean; hwlog?: boolean; output?: string }, cmd: Command) => {
      const format = siteFormat(o.format, '');
      if (o.hwlog && format === 'csv') throw new Error('export: --hwlog needs --format yaml (the CSV form is the node table)');
      const r = await withController(cmd, (c) => c.request('export', { format, showSecrets: !!o.showSecrets, hwlog: !!o.hwlog }));
      if (o.output) await writeFile(o.output, r.text, { mode: 0o600 });
      else process.stdout.write(r.text);
    });
}

function siteFormat(option: string | undefined, file: string): SiteFormat {
  if (option !== undefined && option !== 'yaml' && option !== 'csv') throw new Error(`--format "${option}" must be yaml or csv`);
  return (option as 'yaml' | 'csv' | undefined) ?? (/\.csv$/i.test(file) ? 'csv' : 'yaml');
}

async function readSiteFile(file: string): Promise<string> {
  const tooBig = (bytes: number) => new Error(`import: ${file} is ${(bytes / 1024 / 1024).toFixed(1)} MiB; muster import takes at most ${MAX_IMPORT_BYTES / 1024 / 1024} MiB (split it into several files)`);
  if (file === '-') {
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of process.stdin) {
      bytes += (chunk as Buffer).length;
      if (bytes > MAX_IMPORT_BYTES) throw tooBig(bytes);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  const size = await stat(file).then(
    (s) => s.size,
    (err: Error) => {
      throw new Error(`import: cannot read ${file}: ${err.message}`);
    },
  );
  if (size > MAX_IMPORT_BYTES) throw tooBig(size);
  return readFile(file, 'utf8');
}

/** One request for a small file; numbered parts for a larger one (one MQTT message is at most 256 KiB). */
async function sendImport(c: ControllerClient, text: string, format: SiteFormat, dryRun: boolean): Promise<ImportOutcome> {
  if (text.length <= UPLOAD_PART_CHARS) return outcome(await c.request('import', { text, format, dryRun }));
  const id = randomBytes(8).toString('hex');
  const parts = Math.ceil(text.length / UPLOAD_PART_CHARS);
  const send = (part: number) => c.request('import', { text: text.slice(part * UPLOAD_PART_CHARS, (part + 1) * UPLOAD_PART_CHARS), format, dryRun, upload: { id, part, parts } });
  for (let part = 0; part < parts - 1; part++) await send(part);
  return outcome(await send(parts - 1));
}

/** The answer to a whole file: the import's outcome, never a part's `received`. */
function outcome(r: ImportResult): ImportOutcome {
  if ('received' in r) throw new Error(`import: the controller still waits for parts after part ${r.received} (run the import again)`);
  return r;
}
