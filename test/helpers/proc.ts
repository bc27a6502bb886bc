import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** A child process whose output is collected, with a way to wait for a line in it. */
export interface Proc {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved as received. */
  output(): string;
  /** Resolves when `pattern` has appeared in the output (checked against all output so far). */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<RegExpMatchArray | string>;
  /** SIGTERM (or the given signal), then SIGKILL after 3 s; resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<Proc>();

export function start(cmd: string, args: string[], opts: SpawnOptions = {}): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  const waiters: Array<() => void> = [];
  // One decoder per stream: a UTF-8 character split across two reads must not become two U+FFFD.
  const collect = (decoder: StringDecoder) => (d: Buffer) => {
    out += decoder.write(d);
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', collect(new StringDecoder('utf8')));
  child.stderr?.on('data', collect(new StringDecoder('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      for (const w of [...waiters]) w();
      resolve({ code, signal });
    });
    child.on('error', (err) => {
      out += `\n[spawn error] ${err.message}\n`;
      resolve({ code: -1, signal: null });
    });
  });
  const proc: Proc = {
    child,
    exited,
    output: () => out,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = typeof pattern === 'string' ? (out.includes(pattern) ? pattern : null) : out.match(pattern);
          if (m) {
            cleanup();
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            reject(new Error(`${cmd} exited before printing ${pattern}; output:\n${out.slice(-4000)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} from ${cmd}; output:\n${out.slice(-4000)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          const i = waiters.indexOf(check);
          if (i >= 0) waiters.splice(i, 1);
        };
        waiters.push(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      running.delete(proc);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
  running.add(proc);
  return proc;
}

/** Stops every process started by this worker that is still running (call from afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** Every process's command line, as `ps` shows it (arguments joined by spaces). */
export function commandLines(): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0$/, '').split('\0').join(' ');
      } catch {
        return ''; // exited meanwhile
      }
    });
}
