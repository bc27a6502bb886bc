/**
 * Runs a helper program (ipmitool, a fence script, a provisioning tool) without a shell, in a
 * process group of its own, so that ending it also ends whatever it started (a script's children
 * would otherwise keep its output open and the call would outlive its deadline).
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to the program's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** Aborting kills the process group; the promise rejects with the signal's reason. */
  signal: AbortSignal;
  /** stdout and stderr together beyond this many bytes are a broken program: it is killed. Default 1 MiB. */
  maxOutputBytes?: number;
  /** Each complete stderr line as it comes: progress of a long program. */
  onStderrLine?: (line: string) => void;
}

export interface RunResult {
  /** Exit code, null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The program could not be started, or wrote more than it may. */
export class RunError extends Error {
  constructor(
    readonly reason: 'not-started' | 'output-limit',
    message: string,
  ) {
    super(message);
    this.name = 'RunError';
  }
}

const DEFAULT_MAX_OUTPUT = 1024 * 1024;

/** Runs `cmd args` to its end; resolves whatever its exit status, rejects when it could not run to it. */
export function runProgram(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const maxOutput = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  return new Promise((resolve, reject) => {
    if (opts.signal.aborted) return reject(opts.signal.reason);
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const onAbort = () => {
      killGroup();
      settle(() => reject(opts.signal.reason));
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      if (settled) return;
      into.push(chunk);
      bytes += chunk.length;
      if (bytes > maxOutput) {
        killGroup();
        settle(() => reject(new RunError('output-limit', `${cmd} wrote more than ${maxOutput} bytes (killed)`)));
      }
    };
    child.stdout!.on('data', collect(stdout));
    child.stderr!.on('data', collect(stderr));
    if (opts.onStderrLine) {
      const onLine = opts.onStderrLine;
      let partial = '';
      const decoder = new StringDecoder('utf8'); // a character split across reads stays whole
      child.stderr!.on('data', (chunk: Buffer) => {
        const lines = (partial + decoder.write(chunk)).split('\n');
        partial = lines.pop()!;
        for (const l of lines) if (l.trim()) onLine(l);
      });
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      settle(() => reject(new RunError('not-started', err.code === 'ENOENT' ? `cannot run ${cmd}: not found` : `cannot run ${cmd}: ${err.message}`)));
    });
    child.on('close', (code, signal) => {
      settle(() => resolve({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
    });
    if (child.stdin) {
      // A program that exits without reading stdin makes this write fail with EPIPE: its exit status tells.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

/** The last non-empty line of a program's output: the usual place for its error message. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
