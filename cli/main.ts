/**
 * `muster`: the admin's command line. Every verb but `controller` talks to a running controller
 * over MQTT (request/response); `controller` runs one in this process.
 */
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  process.stderr.write(`muster: ${(err as Error).message}\n`);
  process.exit(1);
}
