import type { Command } from 'commander';
import { ControllerClient } from './client.js';

/** Options every controller-talking command inherits from the program. */
export interface GlobalOptions {
  controller: string;
  prefix: string;
  user?: string;
  timeout: string;
}

/** Connect, run `fn`, always disconnect. Errors propagate to main, which prints one line. */
export async function withController<T>(cmd: Command, fn: (client: ControllerClient) => Promise<T>): Promise<T> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const timeoutS = Number(g.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new Error(`--timeout "${g.timeout}" must be a positive number of seconds`);
  const client = await ControllerClient.connect({
    url: g.controller,
    prefix: g.prefix,
    username: g.user,
    password: process.env.MUSTER_PASSWORD,
    timeoutMs: timeoutS * 1000,
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export const useColor = (): boolean => !!process.stdout.isTTY && !process.env.NO_COLOR;
