import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ControllerClient } from './client.js';

/** Options every controller-talking command inherits from the program. */
export interface GlobalOptions {
  controller: string;
  prefix: string;
  user?: string;
  /** PEM file of the CA to trust for mqtts:// / wss:// (env MUSTER_CA). */
  ca?: string;
  timeout: string;
}

/** Connect, run `fn`, always disconnect. Errors propagate to main, which prints one line. */
export async function withController<T>(cmd: Command, fn: (client: ControllerClient) => Promise<T>): Promise<T> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const timeoutS = Number(g.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new Error(`--timeout "${g.timeout}" must be a positive number of seconds`);
  checkControllerUrl(g.controller);
  const caFile = g.ca ?? process.env.MUSTER_CA;
  // Without a password the connection is anonymous (where the controller allows it), and the
  // controller records what it does as done by `anonymous`.
  const password = g.user ? await loginPassword(g.user) : undefined;
  const client = await ControllerClient.connect({
    url: g.controller,
    prefix: g.prefix,
    username: password === undefined ? undefined : g.user,
    password,
    ca: caFile ? readFileOr(caFile, '--ca / MUSTER_CA') : undefined,
    timeoutMs: timeoutS * 1000,
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

const CONTROLLER_SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

/** Refuses a --controller that is not a URL the client can connect to, saying what one looks like. */
export function checkControllerUrl(url: string): void {
  let scheme: string | null = null;
  try {
    scheme = new URL(url).protocol;
  } catch {
    // not a URL at all: said below
  }
  if (scheme === null || !CONTROLLER_SCHEMES.includes(scheme)) {
    throw new Error(`--controller "${url}" is not a controller URL: give mqtt://HOST[:PORT] (mqtts:// with TLS) or ws://HOST:PORT (wss://), e.g. mqtt://127.0.0.1:1883 (env MUSTER_CONTROLLER)`);
  }
}

/** The login password: MUSTER_PASSWORD, else MUSTER_PASSWORD_FILE, else a prompt on a terminal. */
async function loginPassword(user: string): Promise<string | undefined> {
  if (process.env.MUSTER_PASSWORD) return process.env.MUSTER_PASSWORD;
  const file = process.env.MUSTER_PASSWORD_FILE;
  if (file) return readFileOr(file, 'MUSTER_PASSWORD_FILE').toString('utf8').trim();
  if (process.stdin.isTTY) return readSecret(`password for ${user}: `);
  return undefined;
}

function readFileOr(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`);
  }
}

/** One line from the terminal without echo, or the first line of stdin when it is not a terminal. */
export async function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) text += String(chunk);
    return text.split('\n')[0]!.replace(/\r$/, '');
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  let line = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (buf: Buffer) => {
        for (const ch of buf.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return done(() => resolve(line));
          if (ch === '\u0003') return done(() => reject(new Error('cancelled')));
          if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
          else line += ch;
        }
      };
      const done = (finish: () => void) => {
        stdin.off('data', onData);
        finish();
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

export const useColor = (): boolean => !!process.stdout.isTTY && !process.env.NO_COLOR;
