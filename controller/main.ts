import type { ControllerConfig } from './config.js';
import { startController } from './controller.js';
import { defaultExtensions } from './extensions.js';
import { createLogger } from './log.js';
import { StoreLoadError } from './store/store.js';

/** `muster controller`: start, print where it listens, stop cleanly on SIGINT/SIGTERM. */
export async function runController(config: ControllerConfig, opts: { newStore?: boolean } = {}): Promise<void> {
  const log = createLogger();
  // Listening before anything is printed: a signal sent as soon as the ready line is read would
  // otherwise meet the default action and kill the process before its clean stop.
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  let running;
  try {
    running = await startController(config, { log, extensions: defaultExtensions, newStore: opts.newStore });
  } catch (err) {
    if (err instanceof StoreLoadError) throw new Error(`refusing to start: ${err.message}`);
    throw err;
  }
  const http = running.httpUrl ? ` http=${running.httpUrl}` : '';
  const admin = running.adminUrl ? ` admin=${running.adminUrl}` : '';
  // One plain line on stdout that people and tests can wait for: `http` is for nodes, `admin` for the dashboard and metrics.
  process.stdout.write(`muster controller ready: mqtt=${running.mqttUrl}${running.wsUrl ? ` ws=${running.wsUrl}` : ''}${http}${admin} data=${config.dataDir}\n`);
  if (running.adminUrl) process.stdout.write(`dashboard: ${running.adminUrl}/dashboard/\n`);
  log.info({ signal: await stopSignal }, 'stopping');
  await running.stop();
  process.stdout.write('muster controller stopped\n');
}
