import type { Command } from 'commander';
import { Event, EventKind, decodeMessage } from '../../shared/protocol.js';
import { colorize } from '../format.js';
import { listOf } from '../option-values.js';
import { useColor, withController } from '../session.js';
import { eventJson, printJsonLine } from '../json-output.js';

export function registerWatchCommand(program: Command): void {
  program
    .command('watch [range]')
    .description('stream transitions and events as they happen (Ctrl-C to stop)')
    .option('--kind <kinds>', `only these event kinds, comma-separated: ${EventKind.options.join(', ')}`, listOf('an event kind', EventKind.options))
    .option('--json', 'one JSON object per line')
    .addHelpText('after', '\nExamples:\n  muster watch\n  muster watch rack1 --kind transition,action\n')
    .action(async (range: string | undefined, o: { kind?: Set<EventKind>; json?: boolean }, cmd: Command) => {
      const kinds = o.kind ?? null;
      await withController(cmd, async (c) => {
        const only = range ? new Set((await c.request('nodes', { range })).map((r) => r.node)) : null;
        const color = useColor();
        await c.stream([c.topics.allEvents], (_topic, payload) => {
          const e = decodeMessage(Event, payload);
          if (!e.ok) return;
          const ev = e.value;
          if (kinds && !kinds.has(ev.kind)) return;
          if (only && (ev.node === null || !only.has(ev.node))) return;
          if (o.json) return printJsonLine('watch', eventJson(ev));
          const time = new Date(ev.at).toISOString().slice(11, 23);
          const msg = ev.kind === 'transition' && color ? ev.message.replace(/→ (\S+)/, (_m, to: string) => `→ ${colorize(to, true)}`) : ev.message;
          process.stdout.write(`${time} ${ev.kind.padEnd(10)} ${msg}\n`);
        });
        // Keep the connection until Ctrl-C.
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
      });
    });
}
