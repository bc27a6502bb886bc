import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { musterVersion } from '../../controller/paths.js';
import type { DoctorCheck } from '../../shared/verbs/results.js';
import { followPowerResults, Progress } from '../progress.js';
import { useColor, withController, type GlobalOptions } from '../session.js';
import { doctorCheckJson, printJson } from '../json-output.js';

const MARK = { ok: '✔', fail: '✘', skip: '–' } as const;
const COLOUR = { ok: '32', fail: '31', skip: '90' } as const;

/**
 * `muster doctor`: the CLI's own checks (the controller answers, and runs this version) and the
 * controller's (the `doctor` verb); one line per check, the fix under each failure; exit 1 when
 * any fails. docs/operations.md explains every check.
 */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check the site: controller, store, data directory, TLS, DHCP/TFTP, loaders, images, tokens, power targets, clocks')
    .option('--json', 'the checks as JSON (for monitoring); the exit code is 1 when any fails')
    .option('--concurrency <n>', 'most power targets queried at once (default from the controller config, 20)')
    .addHelpText('after', '\nExamples:\n  muster doctor\n  muster doctor --json | jq \'.checks[] | select(.status == "fail")\'\n')
    .action(async (o: { json?: boolean; concurrency?: string }, cmd: Command) => {
      const concurrency = o.concurrency === undefined ? undefined : Number(o.concurrency);
      if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) throw new Error(`--concurrency "${o.concurrency}" must be a whole number ≥ 1`);
      const checks = await runChecks(cmd, concurrency, !o.json && !!process.stderr.isTTY);
      const failed = checks.some((c) => c.status === 'fail');
      if (failed) process.exitCode = 1;
      if (o.json) return printJson('doctor', { ok: !failed, checks: checks.map(doctorCheckJson) });
      process.stdout.write(render(checks, useColor()));
    });
}

async function runChecks(cmd: Command, concurrency: number | undefined, showProgress: boolean): Promise<DoctorCheck[]> {
  const url = cmd.optsWithGlobals<GlobalOptions>().controller;
  const mine = musterVersion();
  let reached = false;
  try {
    return await withController(cmd, async (c) => {
      reached = true;
      const nodes = await c.request('nodes', {});
      const requestId = randomBytes(8).toString('hex');
      const progress = new Progress(null, 'power targets', showProgress);
      await followPowerResults(c, requestId, progress);
      const report = await c.request('doctor', { concurrency, requestId }, Math.max(120_000, nodes.length * 30_000));
      progress.end();
      const same = report.version === mine;
      const controller: DoctorCheck = {
        id: 'controller',
        title: 'controller',
        status: same ? 'ok' : 'fail',
        detail: `${url} answers: muster ${report.version}${same ? '' : `, this CLI is ${mine}`}`,
        fix: same ? null : 'run the same muster version for the CLI and the controller (upgrade the older one)',
      };
      return [controller, ...report.checks];
    });
  } catch (err) {
    if (reached) throw err;
    return [{ id: 'controller', title: 'controller', status: 'fail', detail: (err as Error).message, fix: 'start the controller (muster controller, or its systemd unit), or name it: --controller URL / MUSTER_CONTROLLER' }];
  }
}

function render(checks: readonly DoctorCheck[], colour: boolean): string {
  const width = Math.max(...checks.map((c) => c.title.length));
  const paint = (status: DoctorCheck['status'], text: string) => (colour ? `\u001b[${COLOUR[status]}m${text}\u001b[0m` : text);
  const lines = checks.flatMap((c) => [`${paint(c.status, MARK[c.status])} ${c.title.padEnd(width)}  ${c.detail}`, ...(c.fix ? [`  ${' '.repeat(width)}  fix: ${c.fix}`] : [])]);
  const count = (s: DoctorCheck['status']) => checks.filter((c) => c.status === s).length;
  lines.push(`${checks.length} check(s): ${count('ok')} ok, ${count('fail')} failed, ${count('skip')} not applicable`);
  return lines.join('\n') + '\n';
}
