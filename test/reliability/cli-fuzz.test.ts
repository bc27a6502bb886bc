/**
 * Random command lines (issue 9, item 5): `muster` run a few hundred times with random argv
 * against a real controller. Every run must end with an exit code (no signal, no hang) and,
 * when it fails, one line saying why on stderr: never a stack trace.
 * Long-running verbs (`controller`, `watch`, `console`) are left out: they are meant not to end.
 * Seeded: MUSTER_SEED=<printed seed> replays the command lines.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { musterBin, startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { seeded, testSeed } from './lib.js';

const RUNS = 200;
const PARALLEL = 4;
const seed = testSeed();
let controller: ControllerProc;

beforeAll(async () => {
  controller = await startControllerProc([], { env: { MUSTER_LOG_LEVEL: 'warn' } });
  await controller.cli(['define', 'n[001-004]', 'groups=rack1', 'power=sim://']);
});
afterAll(() => controller?.stop());

const VERBS = ['nodes', 'show', 'history', 'discovered', 'assign', 'define', 'set', 'undefine', 'power', 'offline', 'online', 'hwlog', 'import', 'export', 'summary', 'image', 'build', 'bios', 'policy', 'user', 'naming', 'groups', 'completion', 'help', 'frobnicate', ''];
const WORDS = ['on', 'off', 'cycle', 'reset', 'status', 'open', 'close', 'list', 'add', 'diff', 'resume', 'bash', 'zsh', 'n001', 'n[001-004]', 'n[004-001]', 'n[', 'n]]', 'rack1', 'n001,-n001', '@all', 'mac-525400000001', '52:54:00:00:00:01', 'zz:zz', 'image=x', 'tags=a,b', 'groups=', 'key=', '=v', 'power=sim://', 'power=ipmi://u:secret@127.0.0.1:1', 'console=tcp://127.0.0.1:1', 'unknown=1', '/etc/passwd', '/nonexistent', '.', '-', '--', '1', '-1', '1e309', 'NaN', '10m', '2h', 'yesterday', '\u202e\u0000'.slice(0, 1), '日本語', "'; rm -rf /", '$(id)', '%s%n', '{}', '[]', 'null'];
const FLAGS = ['--json', '--force', '--help', '-h', '--version', '-V', '--reason', '--since', '--axis', '--tail', '--concurrency', '--stagger', '--role', '--kernel', '--initrd', '--cmdline', '--timeout', '--bogus', '-x', '--json=1', '--reason='];

function argv(rnd: () => number): string[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const out = [pick(VERBS)];
  const n = Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.4) out.push(pick(WORDS));
    else if (r < 0.75) out.push(pick(FLAGS));
    else if (r < 0.85) out.push('x'.repeat(1 + Math.floor(rnd() * 20_000)));
    else out.push(String.fromCharCode(...Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => 0x20 + Math.floor(rnd() * 0x2fe0))));
  }
  return out.filter((a) => a !== '' || rnd() < 0.5);
}

function run(args: string[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [musterBin, '--controller', controller.mqttUrl, '--timeout', '5', ...args], { timeout: 30_000, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: string | null; killed?: boolean }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

const STACK = /^\s+at .+(:\d+:\d+\)?|\(native\))$|node:internal|\bTypeError\b|\bReferenceError\b|Unhandled/m;
const HINT = '(run with --help for usage)';

describe('random command lines', () => {
  it(`every run ends with an exit code and at most a one-line reason (${RUNS} runs, seed ${seed})`, { timeout: 240_000 }, async () => {
    const rnd = seeded(seed);
    const plans = Array.from({ length: RUNS }, () => argv(rnd));
    const bad: string[] = [];
    const codes = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < plans.length) {
          const args = plans[next++]!;
          const r = await run(args);
          const shown = JSON.stringify(args.map((a) => (a.length > 40 ? `${a.slice(0, 20)}…(${a.length})` : a)));
          if (r.code === null) {
            bad.push(`${shown}: ended by ${r.signal ?? 'no exit code'}`);
            continue;
          }
          codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
          if (STACK.test(r.stderr) || STACK.test(r.stdout)) bad.push(`${shown}: stack trace or internal error:\n${r.stderr.slice(0, 600)}`);
          if (r.code !== 0) {
            // commander's own extras are fine: a "(Did you mean …?)" line, and the usage of a
            // command group named without a subcommand.
            const reason = r.stderr.split('\n').filter((l) => l.trim() !== '' && l !== HINT && !l.startsWith('(Did you mean'));
            if (reason.length !== 1 && !r.stderr.startsWith('Usage: muster ')) bad.push(`${shown}: exit ${r.code} with ${reason.length} lines of reason:\n${r.stderr.slice(0, 600)}`);
          }
        }
      }),
    );
    console.log(`cli fuzz (seed ${seed}): exit codes ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(bad).toEqual([]);
    // The controller took it all and still serves. Not `nodes n001`: the random command lines
    // may have removed it (`undefine`, `n001` and `--force` are all in them; seed 1833668654 did).
    expect(controller.proc.child.exitCode).toBeNull();
    const nodes = JSON.parse((await controller.cli(['nodes', '--json'])).stdout) as unknown;
    expect(Array.isArray(nodes)).toBe(true);
  });
});
