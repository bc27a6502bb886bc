/** The `muster` command tree: every verb, its options, help and examples. */
import { Command } from 'commander';
import { musterVersion } from '../controller/paths.js';
import { registerBuildCommands } from './commands/build.js';
import { registerCompletionCommands } from './commands/completion.js';
import { registerConsoleCommand } from './commands/console.js';
import { registerControllerCommand } from './commands/controller.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerNetworkCommands } from './commands/network.js';
import { registerNodeCommands } from './commands/nodes.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerPowerCommand } from './commands/power.js';
import { registerRecordCommands } from './commands/records.js';
import { registerStoreCommands } from './commands/store.js';
import { registerSummaryCommand } from './commands/summary.js';
import { registerUserCommands } from './commands/user.js';
import { registerWatchCommand } from './commands/watch.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('muster')
    .description('Bring up and keep alive the nodes of a bare-metal cluster.')
    .version(musterVersion(), '--version', "print muster's version")
    .option('--controller <url>', 'controller MQTT URL (env MUSTER_CONTROLLER)', process.env.MUSTER_CONTROLLER ?? 'mqtt://127.0.0.1:1883')
    .option('--prefix <prefix>', 'topic prefix', process.env.MUSTER_PREFIX ?? 'muster')
    .option('--user <name>', 'user name (env MUSTER_USER; password from MUSTER_PASSWORD, MUSTER_PASSWORD_FILE or a prompt)', process.env.MUSTER_USER)
    .option('--ca <file>', 'PEM CA to trust for mqtts:// and wss:// controllers (env MUSTER_CA)')
    .option('--timeout <seconds>', 'how long to wait for the controller', '30')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  registerControllerCommand(program);
  registerNodeCommands(program);
  registerPowerCommand(program);
  registerConsoleCommand(program);
  registerBuildCommands(program);
  registerRecordCommands(program);
  registerNetworkCommands(program);
  registerPolicyCommands(program);
  registerSummaryCommand(program);
  registerCompletionCommands(program);
  registerWatchCommand(program);
  registerUserCommands(program);
  registerDoctorCommand(program);
  registerStoreCommands(program);
  registerDemoCommand(program);

  return program;
}
