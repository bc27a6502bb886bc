import type { Command } from 'commander';
import { isoTime, table } from '../format.js';
import { withController } from '../session.js';
import { frozenJson, printJson } from '../json-output.js';

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('automatic correction: breaker status and resume');
  policy
    .command('status')
    .description('groups whose automatic actions the mass-silence breaker has frozen')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster policy status\n')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('policy-status'));
      if (o.json) return printJson('policy status', r.frozen.map(frozenJson));
      if (r.frozen.length === 0) return void process.stdout.write('no group is frozen\n');
      process.stdout.write(table(['GROUP', 'FROZEN SINCE'], r.frozen.map((f) => [f.group, isoTime(f.since)])) + '\n');
    });
  policy
    .command('resume <group>')
    .description('resume automatic actions of a group the breaker froze (after you checked the network)')
    .addHelpText('after', '\nExample:\n  muster policy status\n  muster policy resume rack1\n')
    .action(async (group: string, _o: unknown, cmd: Command) => {
      await withController(cmd, (c) => c.request('policy-resume', { group }));
      process.stdout.write(`group ${group} resumed\n`);
    });
}
