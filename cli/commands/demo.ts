import { Argument, type Command } from 'commander';
import { DEMO_DRILLS, DemoDrill } from '../../shared/verbs/args.js';
import { withController } from '../session.js';

const WHAT: Record<DemoDrill, string> = {
  hang: 'stops answering (no heartbeats), its connection kept open',
  panic: 'prints a kernel panic on its console and stops answering',
  kill: 'loses its connection without a goodbye (the broker sends its will)',
};

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .addArgument(new Argument('<drill>', 'the failure to act out').choices(DEMO_DRILLS))
    .argument('<node>', 'a simulated node (demo01…)')
    .description('rehearse a failure on a simulated node and watch muster detect and correct it (demo controllers only)')
    .addHelpText(
      'after',
      [
        '',
        'Drills:',
        ...DEMO_DRILLS.map((d) => `  ${d.padEnd(6)} the node ${WHAT[d]}`),
        '',
        'muster then detects it (dead after missed heartbeats or the will; a panic on the console)',
        'and corrects it (reset, then power cycle); `muster show NODE` says what comes next and',
        '`muster history NODE` keeps the detection and the action. A controller not started with',
        '--demo refuses drills.',
        '',
        'Examples:',
        '  muster demo hang demo03',
        '  muster watch demo03 &    # then: muster demo panic demo03',
        '  muster demo kill demo05 && muster history demo05 --axis action',
        '',
      ].join('\n'),
    )
    .action(async (word: string, node: string, _o: unknown, cmd: Command) => {
      const drill = DemoDrill.parse(word);
      await withController(cmd, (c) => c.request('demo', { drill, node }));
      process.stdout.write(`${node}: ${drill}: the node ${WHAT[drill]}; follow it with muster watch ${node} or muster show ${node}\n`);
    });
}
