import type { Command } from 'commander';
import { Role } from '../../shared/auth.js';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} "${v}" must be a whole number`);
  return n;
};

export function registerControllerCommand(program: Command): void {
  program
    .command('controller')
    .description('run the controller: embedded MQTT broker (or --broker), store, state manager, HTTP')
    .option('--data <dir>', 'data directory (store, journal, console logs)')
    .option('--config <file>', 'controller config file (YAML or JSON)')
    .option('--host <addr>', 'address to listen on')
    .option('--mqtt-port <n>', 'MQTT TCP port (0: any free port)', int('--mqtt-port'))
    .option('--ws-port <n>', 'MQTT over WebSocket port (0: any free port)', int('--ws-port'))
    .option('--http-port <n>', 'provisioning HTTP port, for nodes: iPXE scripts, boot loaders, images (0: any free port)', int('--http-port'))
    .option('--admin-host <addr>', 'address of the admin listener (dashboard, metrics, MQTT over WebSocket); default 127.0.0.1')
    .option('--admin-port <n>', 'admin HTTP port: dashboard, metrics (0: any free port)', int('--admin-port'))
    .option('--broker <urls>', 'use external MQTT brokers instead of the embedded one: a URL, or several separated by commas (the controller connects to each)')
    .option('--demo <n>', 'also run N simulated nodes that boot through kernel → init → run', int('--demo'))
    .option('--dry-run', 'log and publish what automatic actions would do, without doing them')
    .option('--anonymous-agents', 'let agents connect without a token (a trusted provisioning network only)')
    .option('--anonymous-role <role>', 'role of clients that connect without a user name: viewer|operator|admin (default: refused)', (v: string) => {
      const r = Role.safeParse(v);
      if (!r.success) throw new Error(`--anonymous-role "${v}" must be viewer, operator or admin`);
      return r.data;
    })
    .option('--new-store', 'start a new, empty cluster where DATA/store.json is missing or unreadable (the old files are renamed aside; a valid store is never discarded)')
    .addHelpText('after', '\nExample:\n  muster controller --data /var/lib/muster --demo 16\n')
    .action(async (o: Record<string, unknown>) => {
      // Loaded here, not with the CLI: every other command starts without the broker, store and HTTP code.
      const [{ loadConfig }, { runController }] = await Promise.all([import('../../controller/config.js'), import('../../controller/main.js')]);
      const config = await loadConfig((o.config as string | undefined) ?? null, {
        dataDir: o.data,
        host: o.host,
        mqttPort: o.mqttPort,
        wsPort: o.wsPort,
        httpPort: o.httpPort,
        brokers: typeof o.broker === 'string' ? o.broker.split(',') : undefined,
        demo: o.demo,
        dryRun: o.dryRun,
      });
      if (o.adminHost !== undefined) config.admin.host = o.adminHost as string;
      if (o.adminPort !== undefined) config.admin.port = o.adminPort as number;
      if (o.anonymousAgents) config.auth.anonymousAgents = true;
      if (o.anonymousRole) config.auth.anonymousRole = o.anonymousRole as Role;
      await runController(config, { newStore: o.newStore === true });
    });
}
