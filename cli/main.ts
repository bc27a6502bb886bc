/**
 * `muster`: the admin's command line. Every verb but `controller` talks to a running controller
 * over MQTT (request/response); `controller` runs one in this process.
 */
import { Command, CommanderError } from 'commander';
import { registerBuildCommands } from './commands/build.js';
import { registerConsoleCommand } from './commands/console.js';
import { registerControllerCommand } from './commands/controller.js';
import { registerNodeCommands } from './commands/nodes.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerPowerCommand } from './commands/power.js';
import { registerRecordCommands } from './commands/records.js';
import { registerWatchCommand } from './commands/watch.js';

const program = new Command();
program
  .name('muster')
  .description('Bring up and keep alive the nodes of a bare-metal cluster.')
  .option('--controller <url>', 'controller MQTT URL (env MUSTER_CONTROLLER)', process.env.MUSTER_CONTROLLER ?? 'mqtt://127.0.0.1:1883')
  .option('--prefix <prefix>', 'topic prefix', process.env.MUSTER_PREFIX ?? 'muster')
  .option('--user <name>', 'user name (env MUSTER_USER)', process.env.MUSTER_USER)
  .option('--timeout <seconds>', 'how long to wait for the controller', '30')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerControllerCommand(program);
registerNodeCommands(program);
registerPowerCommand(program);
registerConsoleCommand(program);
registerBuildCommands(program);
registerRecordCommands(program);
registerPolicyCommands(program);
registerWatchCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  process.stderr.write(`muster: ${(err as Error).message}\n`);
  process.exit(1);
}
