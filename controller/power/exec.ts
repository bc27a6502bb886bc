/** Runs a helper program (ipmitool, a fence script) for a power driver, killable by a signal. */
import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const MAX_OUTPUT = 64 * 1024;

/**
 * Spawns `cmd args` without a shell. On abort the whole process group is killed (a script's own
 * children too) and the promise rejects with the signal's reason.
 */
export function execProgram(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; signal: AbortSignal }): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal.aborted) return reject(opts.signal.reason);
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString('utf8')).slice(-MAX_OUTPUT)));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-MAX_OUTPUT)));
    const onAbort = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(opts.signal.reason);
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      opts.signal.removeEventListener('abort', onAbort);
      reject(new Error(err.code === 'ENOENT' ? `cannot run ${cmd}: not found` : `cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (code) => {
      opts.signal.removeEventListener('abort', onAbort);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last non-empty line of a program's output: the usual place for its error message. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
