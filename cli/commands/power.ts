import { randomBytes } from 'node:crypto';
import { Argument, type Command } from 'commander';
import { POWER_ACTIONS, PowerAction } from '../../shared/verbs/args.js';
import { colorize } from '../format.js';
import { followPowerResults, Progress, reportSummary, shortError } from '../progress.js';
import { useColor, withController } from '../session.js';
import { powerResultJson, printJson } from '../json-output.js';

export function registerPowerCommand(program: Command): void {
  program
    .command('power')
    .addArgument(new Argument('<action>').choices(POWER_ACTIONS))
    .argument('<range>')
    .description('power on|off|cycle|reset|status a noderange, in parallel; one line per node, `n001: on` (xCAT rpower)')
    .option('--concurrency <n>', 'most nodes at once (default from the controller config, 20)')
    .option('--stagger <ms>', 'least time between two starts, to spare the circuit')
    .option('--json', 'per-node results as JSON')
    .addHelpText('after', '\nExamples:\n  muster power status rack1\n  muster power cycle n[001-040] --concurrency 20 --stagger 200\n')
    .action(async (word: string, range: string, o: { concurrency?: string; stagger?: string; json?: boolean }, cmd: Command) => {
      const action = PowerAction.parse(word);
      const concurrency = o.concurrency === undefined ? undefined : wholeNumber('--concurrency', o.concurrency, 1);
      const staggerMs = o.stagger === undefined ? undefined : wholeNumber('--stagger', o.stagger, 0);
      const requestId = randomBytes(8).toString('hex');
      const r = await withController(cmd, async (c) => {
        const nodes = await c.request('nodes', { range });
        const progress = new Progress(nodes.length, `power ${action}`, !o.json && !!process.stderr.isTTY);
        await followPowerResults(c, requestId, progress);
        // A large range takes a while: wait long enough for all of it.
        const timeoutMs = Math.max(60_000, nodes.length * 30_000);
        const res = await c.request('power', { action, range, concurrency, staggerMs, requestId }, timeoutMs);
        progress.end();
        return res;
      });
      if (r.results.some((x) => !x.ok)) process.exitCode = 1;
      if (o.json) return printJson('power', r.results.map(powerResultJson));
      const color = useColor();
      for (const x of r.results) process.stdout.write(`${x.node}: ${x.ok ? colorize(x.state ?? action, color) : `error: ${shortError(x.node, x.error ?? '')}`}\n`);
      reportSummary(r.results);
    });
}

function wholeNumber(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} "${v}" must be a whole number ≥ ${min}`);
  return n;
}
