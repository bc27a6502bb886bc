import type { Command } from 'commander';
import { ESCAPE_START, scanEscape } from '../../controller/console/escape.js';
import { withController } from '../session.js';

export function registerConsoleCommand(program: Command): void {
  program
    .command('console <node>')
    .description('attach to a node console (ConMan style: many readers, one writer; type &. to detach)')
    .option('--tail <n>', 'print the last N lines of the console log and exit')
    .option('--follow', 'read-only: print live output, do not take the writer')
    .option('--force', 'take the writer from whoever holds it')
    .addHelpText('after', '\nExamples:\n  muster console n001            (attach; &. at the start of a line detaches)\n  muster console n001 --tail 100\n  muster console n001 --follow\n')
    .action(async (node: string, o: { tail?: string; follow?: boolean; force?: boolean }, cmd: Command) => {
      await withController(cmd, async (c) => {
        if (o.tail !== undefined) {
          const n = Number(o.tail);
          if (!Number.isInteger(n) || n < 1) throw new Error(`--tail "${o.tail}" must be a whole number ≥ 1`);
          const r = await c.request('console-tail', { node, lines: n });
          for (const l of r.lines) process.stdout.write(l + '\n');
          return;
        }
        const interactive = !o.follow;
        if (interactive) {
          const r = await c.request('console-attach', { node, force: !!o.force });
          process.stderr.write(`[attached to ${node} read-write${r.displaced ? `, displacing ${r.displaced}` : ''}; &. detaches]\r\n`);
        } else {
          process.stderr.write(`[following ${node} read-only; Ctrl-C stops]\n`);
        }
        await c.stream([c.topics.consoleOut(node)], (_t, payload) => process.stdout.write(payload));
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          if (!interactive) return;
          const stdin = process.stdin;
          if (stdin.isTTY) stdin.setRawMode(true);
          let state = ESCAPE_START;
          stdin.on('data', (typed: Buffer) => {
            const r = scanEscape(state, typed);
            state = r.state;
            if (r.forward.length) void c.request('console-write', { node, data: r.forward.toString('base64') }).catch((err: Error) => process.stderr.write(`\r\n[${err.message}]\r\n`));
            if (r.detach) resolve();
          });
          // Piped input: send it all, then detach at its end.
          stdin.on('end', () => setTimeout(resolve, 200));
        });
        if (process.stdin.isTTY) process.stdin.setRawMode(false);
        process.stdin.pause();
        if (interactive) {
          // On the way out: the controller also drops the writer of a client that disconnects.
          await c.request('console-detach', { node }).catch(() => {});
          process.stderr.write(`\r\n[detached from ${node}]\n`);
        }
      });
    });
}
