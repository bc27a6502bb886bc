import { Argument, Option, type Command } from 'commander';
import { parseDuration } from '../../shared/duration.js';
import { historyCause } from '../../shared/history-text.js';
import { compressNodeRange } from '../../shared/noderange-compress.js';
import { formatInterfaces } from '../../shared/node-network.js';
import { Axis } from '../../shared/protocol.js';
import type { AdminChange, NodeRow, PowerReplaced, ShownNode } from '../../shared/verbs/results.js';
import { ago, isoTime, table } from '../format.js';
import { shortError } from '../progress.js';
import { useColor, withController } from '../session.js';
import { discoveredJson, nodeRowJson, printJson, shownNodeJson, transitionJson } from '../json-output.js';

export function registerNodeCommands(program: Command): void {
  program
    .command('nodes [range]')
    .description('list nodes and their state (xCAT nodels / Slurm sinfo -N)')
    .option('--why', 'add a NEXT column: what muster will do about each node next, and why or why not')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  muster nodes\n  muster nodes n[001-016],-n005\n  muster nodes rack1 --why\n  muster nodes rack1 --json\n')
    .action(async (range: string | undefined, o: { why?: boolean; json?: boolean }, cmd: Command) => {
      const rows = await withController(cmd, (c) => c.request('nodes', { range, ...(o.why ? { why: true } : {}) }));
      if (o.json) return printJson('nodes', rows.map(nodeRowJson));
      const now = Date.now();
      const head = ['NODE', 'PHASE', 'LIVENESS', 'ADMIN', 'POWER', 'SINCE', 'GROUPS', 'REASON'];
      const cells = (r: (typeof rows)[number]) => [r.node, phaseCell(r), r.liveness, r.admin, r.power, ago(r.since, now), r.groups.join(','), r.reason ?? ''];
      process.stdout.write(
        (o.why ? table([...head, 'NEXT'], rows.map((r) => [...cells(r), r.next?.summary ?? '-']), { color: useColor() }) : table(head, rows.map(cells), { color: useColor() })) + '\n',
      );
    });

  program
    .command('show <node>')
    .description("one node's definition, identifiers, mappings and state")
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster show n001\n')
    .action(async (node: string, o: { json?: boolean }, cmd: Command) => {
      const n = await withController(cmd, (c) => c.request('show', { node }));
      if (o.json) return printJson('show', shownNodeJson(n));
      process.stdout.write(formatShow(n) + '\n');
    });

  program
    .command('history <node>')
    .description("a node's transitions (phase, liveness, admin, power, boot steps) and actions (who did what, with the result), oldest first")
    .option('--since <time>', 'only since this time: ISO date/time, or a duration like 10m, 1.5h, 2m30s')
    .addOption(new Option('--axis <axis>', 'only this axis').choices(Axis.options))
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  muster history n001\n  muster history n001 --since 1h --axis phase\n  muster history n001 --axis boot\n  muster history n001 --axis action\n')
    .action(async (node: string, o: { since?: string; axis?: Axis; json?: boolean }, cmd: Command) => {
      const since = o.since === undefined ? undefined : parseSince(o.since);
      const r = await withController(cmd, (c) => c.request('history', { node, since, axis: o.axis }));
      if (o.json) return printJson('history', r.transitions.map(transitionJson));
      process.stdout.write(table(['TIME', 'AXIS', 'FROM', 'TO', 'CAUSE'], r.transitions.map((t) => [isoTime(t.at), t.axis, t.from ?? '-', t.to ?? '-', historyCause(t)])) + '\n');
      if (r.skipped) process.stderr.write(`muster: ${r.skipped} unreadable journal line(s) skipped\n`);
    });

  program
    .command('discovered')
    .description('agents that said hello but are not bound to a node')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster discovered\n  muster assign mac-525400000001 n001\n')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const rows = await withController(cmd, (c) => c.request('discovered'));
      if (o.json) return printJson('discovered', rows.map(discoveredJson));
      const now = Date.now();
      process.stdout.write(table(['AGENT', 'MACS', 'SERIAL', 'PRODUCT', 'SEEN'], rows.map((r) => [r.agentId, r.macs.join(','), r.serial ?? '-', r.product ?? '-', ago(r.lastSeen, now)])) + '\n');
    });

  program
    .command('assign <agent> <node>')
    .description('bind a discovered agent (by agent id or any of its MACs) to a node name')
    .option('--force', 'move the agent or the name even if already bound elsewhere')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  muster assign uuid-4c4c4544-0031-3210-8052-b4c04f4e4b31 n001\n  muster assign 52:54:00:00:00:01 n002\n')
    .action(async (agent: string, node: string, o: { force?: boolean; json?: boolean }, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('assign', { agent, node, force: !!o.force }));
      if (o.json) return printJson('assign', r);
      process.stdout.write(`${r.agentId} is now ${r.node}\n`);
    });

  program
    .command('conflict')
    .description("identity conflicts: a node's automatic actions wait for an admin")
    .command('clear <node>')
    .description("decide a node's identity conflict, or a refused token re-introduction of its agent (after checking which machine is the node): automatic actions resume, and its agent may come back with the token")
    .addHelpText('after', '\nExample:\n  muster show n001\n  muster conflict clear n001\n')
    .action(async (node: string, _o: unknown, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('conflict-clear', { node }));
      process.stdout.write(`${r.node}: conflict cleared (${r.cleared.reason})\n`);
    });

  program
    .command('define <range> [settings...]')
    .description('create nodes or change them (xCAT mkdef/chdef); settings are key=value')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nKeys: groups=a,b mac=… serial=… uuid=… ib=… switch=SW:PORT power=URL console=TARGET image=ID tags=a,b disk=RULE if.NAME=… attr.NAME=…\nExamples:\n  muster define n[001-004] groups=rack1,compute power=ipmi://admin:pw@10.0.0.1\n  muster define n005 mac=52:54:00:00:00:05 console=serial:/dev/ttyUSB0@115200\n',
    )
    .action(async (range: string, settings: string[], o: { json?: boolean }, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('define', { range, settings }));
      if (o.json) return printJson('define', r);
      process.stdout.write(`${r.created.length} created, ${r.changed.length} changed\n`);
      printReplacedPower(r.replacedPower);
    });

  program
    .command('set <range> <settings...>')
    .description('change settings of defined nodes: image=, tags=, if.NAME=, power=, console=, groups=, …')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  muster set rack1 image=rocky9 tags=gpu,ib\n  muster set n001 if.eth0=10.1.0.11/16,gw=10.1.0.1,mtu=9000\n  muster set n001 \'disk=size>=100G,model:SAMSUNG*\'\n')
    .action(async (range: string, settings: string[], o: { json?: boolean }, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('set', { range, settings }));
      if (o.json) return printJson('set', r);
      process.stdout.write(`${r.changed.length} node(s) changed\n`);
      printReplacedPower(r.replacedPower);
    });

  program
    .command('undefine <range>')
    .description('remove node definitions (their journal and console logs stay); more than one node needs --yes')
    .option('--yes', 'remove every node of the range (listed when it is missing)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster undefine n[001-004] --yes\n')
    .action(async (range: string, o: { yes?: boolean; json?: boolean }, cmd: Command) => {
      const r = await withController(cmd, async (c) => {
        const nodes = await c.request('nodes', { range });
        if (nodes.length > 1 && !o.yes) throw new Error(`undefine would remove ${nodes.length} nodes (${compressNodeRange(nodes.map((n) => n.node))}): add --yes`);
        return c.request('undefine', { range });
      });
      if (o.json) return printJson('undefine', r);
      process.stdout.write(`${r.removed.length} node(s) removed\n`);
    });

  program
    .command('naming')
    .addArgument(new Argument('[state]').choices(['on', 'off']))
    .argument('[pattern]')
    .description('show or set sequential naming of discovered machines (on|off, e.g. n[001-100])')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  muster naming\n  muster naming on n[001-100]\n  muster naming off\n')
    .action(async (state: string | undefined, pattern: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('naming', { enabled: state === undefined ? undefined : state === 'on', pattern }));
      if (o.json) return printJson('naming', r);
      process.stdout.write(`sequential naming ${r.enabled ? 'on' : 'off'}: ${r.pattern}\n`);
    });

  program
    .command('offline <range>')
    .description('take nodes out of automatic correction (Slurm drain): a reason is required')
    .requiredOption('--reason <text>', 'why (kept with the node and in its history)')
    .addHelpText('after', '\nExample:\n  muster offline n007 --reason "DIMM errors, ticket 4711"\n')
    .action(async (range: string, o: { reason: string }, cmd: Command) => {
      if (o.reason.trim() === '') throw new Error('offline: --reason must not be empty');
      printAdminChange(await withController(cmd, (c) => c.request('offline', { range, reason: o.reason })), 'offline');
    });

  program
    .command('online <range>')
    .description('return nodes to service (Slurm ReturnToService)')
    .addHelpText('after', '\nExample:\n  muster online n007\n')
    .action(async (range: string, _o: unknown, cmd: Command) => {
      printAdminChange(await withController(cmd, (c) => c.request('online', { range })), 'online');
    });
}

/** `3 node(s) offline`, then a line per node another controller refused or left unanswered (exit 1). */
function printAdminChange(r: AdminChange, admin: 'offline' | 'online'): void {
  process.stdout.write(`${r.nodes.length} node(s) ${admin}\n`);
  for (const f of r.failed ?? []) process.stdout.write(`${f.node}: error: ${shortError(f.node, f.error)}\n`);
  if (r.failed?.length) process.exitCode = 1;
}

/** A duration ago (`10m`, `1.5h`, `2m30s`: shared/duration.ts), or an ISO date/time → ms since the epoch. */
export function parseSince(text: string, now = Date.now()): number {
  let ago: number;
  try {
    ago = parseDuration(text);
  } catch {
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw new Error(`--since "${text}" is neither a duration (10m, 1.5h, 2m30s) nor a date/time`);
    return t;
  }
  return now - ago;
}

/** The phase, or how far a running build is when its build system says (`build 45%`). */
function phaseCell(r: NodeRow): string {
  const percent = r.build?.state === 'building' ? /^(\d{1,3})%/.exec(r.build.detail)?.[1] : undefined;
  return percent === undefined ? r.phase : `build ${percent}%`;
}

function formatShow(n: ShownNode): string {
  const s = n.state;
  const lines: string[] = [];
  const add = (k: string, v: unknown) => lines.push(`${k.padEnd(12)} ${v === null || v === undefined || v === '' ? '-' : String(v)}`);
  add('node', n.name);
  add('groups', n.groups.join(','));
  if (s) {
    add('phase', `${s.phase} (since ${isoTime(s.phaseSince)})`);
    add('liveness', `${s.liveness} (since ${isoTime(s.livenessSince)})`);
    add('admin', s.admin === 'offline' ? `offline: ${s.reason} (by ${s.adminBy}, ${isoTime(s.adminSince)})` : 'online');
    add('power', s.power);
    add('faults', s.faults);
  }
  if (n.next) add('next', n.next.summary);
  if (n.build) add('build', `${n.build.system ?? '-'} ${n.build.state}: ${n.build.detail} (${isoTime(n.build.at)})`);
  if (n.conflict) add('conflict', `${n.conflict.reason} (since ${isoTime(n.conflict.since)}): automatic actions held until an admin decides (muster assign --force, muster conflict clear)`);
  add('agent', n.agentId);
  const { ids } = n;
  add('macs', ids.macs.join(','));
  add('serial', ids.serial);
  add('uuid', ids.uuid);
  add('ib', ids.ibGuids.join(','));
  add('switch', ids.switchPort ? `${ids.switchPort.switch}:${ids.switchPort.port}` : null);
  add('power url', n.power);
  add('console', n.console);
  add('image', n.image);
  add('tags', n.tags.join(','));
  add('disk', n.disk);
  const ifs = formatInterfaces(n.interfaces);
  add('interfaces', ifs.length ? '' : null);
  for (const i of ifs) lines.push(`  ${i}`);
  for (const [k, v] of Object.entries(n.attrs)) add(`attr.${k}`, v);
  return lines.join('\n');
}

/** Each replaced power target, old → new: a working target is never changed silently. */
function printReplacedPower(replaced: readonly PowerReplaced[]): void {
  for (const r of replaced) process.stdout.write(`${r.node} power: ${r.from} → ${r.to ?? '(none)'}\n`);
}

