import type { Command } from 'commander';
import { COUNTED } from '../../shared/state-counts.js';
import { table } from '../format.js';
import { withController } from '../session.js';
import { printJson, summaryJson } from '../json-output.js';

const { phase: PHASES, liveness: LIVENESS } = COUNTED;

export function registerSummaryCommand(program: Command): void {
  program
    .command('summary [range]')
    .description('node counts per group by phase, liveness and admin state, and per hold (what keeps muster from acting), like Slurm sinfo')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  muster summary\n  muster summary rack[1-4]\n')
    .action(async (range: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const rows = await withController(cmd, (c) => c.request('summary', { range }));
      if (o.json) return printJson('summary', rows.map(summaryJson));
      const n = (v: number | undefined) => String(v ?? 0);
      const held = (r: (typeof rows)[number]) =>
        Object.entries(r.held)
          .map(([hold, count]) => `${hold}=${count}`)
          .join(',') || '-';
      process.stdout.write(
        table(
          ['GROUP', 'NODES', ...PHASES.map((p) => p.toUpperCase()), ...LIVENESS.map((l) => l.toUpperCase()), 'OFFLINE', 'HELD'],
          rows.map((r) => [r.group, n(r.nodes), ...PHASES.map((p) => n(r.phase[p])), ...LIVENESS.map((l) => n(r.liveness[l])), n(r.admin.offline), held(r)]),
        ) + '\n',
      );
    });
}
