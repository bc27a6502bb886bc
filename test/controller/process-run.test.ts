import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunError, runProgram } from '../../controller/process/run.js';
import { tempDir } from '../helpers/tmp.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return 'alive';
  } catch {
    return 'gone';
  }
};

describe('runProgram (real processes)', () => {
  it('hands the input to stdin and returns exit code, stdout and stderr', async () => {
    const r = await runProgram('sh', ['-c', 'read line; echo "got $line"; echo oops >&2; exit 3'], { input: 'hello\n', signal: new AbortController().signal });
    expect(r).toEqual({ code: 3, signal: null, stdout: 'got hello\n', stderr: 'oops\n' });
  });

  it('hands stderr lines whole when a UTF-8 character is split across two writes', async () => {
    const lines: string[] = [];
    // The pause makes the two halves of → arrive as two reads.
    await runProgram('sh', ['-c', "printf 'eth0 \\342\\206' >&2; sleep 0.3; printf '\\222 leaf7\\n' >&2"], { signal: new AbortController().signal, onStderrLine: (l) => lines.push(l) });
    expect(lines).toEqual(['eth0 → leaf7']);
  });

  it('kills a program that writes more than the cap, and says so', async () => {
    const err = await runProgram('sh', ['-c', 'head -c 100000 /dev/zero; sleep 30'], { signal: new AbortController().signal, maxOutputBytes: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    expect(err).toMatchObject({ reason: 'output-limit', message: 'sh wrote more than 10000 bytes (killed)' });
  });

  it('on abort kills the whole process group, the program’s children too', async () => {
    const tmp = tempDir();
    try {
      const pidFile = join(tmp.dir, 'child.pid');
      const stop = new AbortController();
      const run = runProgram('sh', ['-c', `sleep 30 & echo $! > ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}; wait`], { signal: stop.signal });
      await expect.poll(() => existsSync(pidFile), { timeout: 5_000 }).toBe(true);
      const child = Number(readFileSync(pidFile, 'utf8'));
      stop.abort(new Error('deadline passed'));
      await expect(run).rejects.toThrow('deadline passed');
      await expect.poll(() => alive(child), { timeout: 3_000 }).toBe('gone');
    } finally {
      tmp.remove();
    }
  });

  it('a program that is not there is named in the error', async () => {
    await expect(runProgram('/nonexistent/tool', [], { signal: new AbortController().signal })).rejects.toMatchObject({ reason: 'not-started', message: 'cannot run /nonexistent/tool: not found' });
  });

  it('an already aborted signal starts nothing', async () => {
    const stop = new AbortController();
    stop.abort(new Error('cancelled'));
    await expect(runProgram('sh', ['-c', 'exit 0'], { signal: stop.signal })).rejects.toThrow('cancelled');
  });
});
