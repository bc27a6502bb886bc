import { execFile } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { start, type Proc } from './proc.js';
import { tempDir } from './tmp.js';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const musterBin = join(repoRoot, 'bin', 'muster.js');
export const agentBin = join(repoRoot, 'dist', 'agent.js');

export function requireBuild(): void {
  for (const f of [join(repoRoot, 'dist', 'muster.mjs'), agentBin]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` (npm test does)`);
  }
}

export interface ControllerProc {
  proc: Proc;
  mqttUrl: string;
  /** The provisioning listener (iPXE scripts, images). */
  httpUrl: string | null;
  /** The admin listener (dashboard, /metrics). */
  adminUrl: string | null;
  dataDir: string;
  /** Runs the `muster` CLI against this controller. */
  cli(args: string[], opts?: { allowFail?: boolean; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** Tests that are not about security run with anonymous agents and clients (test/security covers auth). */
const TRUSTED = ['--anonymous-agents', '--anonymous-role', 'admin'];

/** A real `muster controller` process on free ports with its own data directory. */
/** `readyTimeoutMs`: how long it may take to say ready (default 20 s; several starting at once on a loaded machine take longer). */
export async function startControllerProc(extraArgs: string[] = [], opts: { dataDir?: string; env?: NodeJS.ProcessEnv; readyTimeoutMs?: number } = {}): Promise<ControllerProc> {
  requireBuild();
  const tmp = opts.dataDir ? null : tempDir('muster-data-');
  const dataDir = opts.dataDir ?? tmp!.dir;
  const proc = start(process.execPath, [musterBin, 'controller', '--data', dataDir, '--host', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--admin-port', '0', ...TRUSTED, ...extraArgs], {
    env: { ...process.env, MUSTER_LOG_LEVEL: process.env.MUSTER_LOG_LEVEL ?? 'info', ...opts.env },
  });
  const m = (await proc.waitFor(/muster controller ready: mqtt=(\S+)(?: ws=\S+)?(?: http=(\S+))?(?: admin=(\S+))?/, opts.readyTimeoutMs ?? 20_000)) as RegExpMatchArray;
  const mqttUrl = m[1]!;
  return {
    proc,
    mqttUrl,
    httpUrl: m[2] ?? null,
    adminUrl: m[3] ?? null,
    dataDir,
    cli: (args, o) => runCli(mqttUrl, args, o),
    async stop() {
      await proc.stop();
      tmp?.remove();
    },
  };
}

const execFileP = promisify(execFile);

export async function runCli(controllerUrl: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [musterBin, '--controller', controllerUrl, ...args], { env: { ...process.env, NO_COLOR: '1' }, timeout: opts.timeoutMs ?? 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    const r = { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    if (!opts.allowFail) throw new Error(`muster ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r;
  }
}

/**
 * A real agent process from dist/agent.js on a copy of a fixture machine (the agent keeps its
 * boot id under ROOT/run/muster, so each test machine gets its own root).
 */
export function startAgent(fixture: string, controllerUrl: string, extra: string[] = []): Proc & { root: string } {
  const root = fixtureCopy(fixture);
  const proc = start(process.execPath, [agentBin, '--root', root, '--controller', controllerUrl, '--interval', '1', ...extra]);
  return Object.assign(proc, { root });
}

/**
 * A copy of test/fixtures/two-nics-ib as machine number `i` (1-255): its own MACs, DMI UUID and
 * serial and IB GUIDs, so several agents of "the same model" are different machines.
 */
export function twoNicsIbMachine(i: number): string {
  const root = fixtureCopy('two-nics-ib');
  const h = i.toString(16).padStart(2, '0');
  const swaps: Array<[RegExp, string]> = [
    [/b0:7b:25:d1:3a:/g, `b0:7b:25:d1:${h}:`],
    [/b0-7b-25-d1-3a-/g, `b0-7b-25-d1-${h}-`],
    [/4C4C4544-0058-4B10-8032-B7C04F514A33/gi, `4C4C4544-0058-4B10-8032-B7C04F5140${h.toUpperCase()}`],
    [/7XK2QJ3/g, `7XK2Q${h.toUpperCase()}`],
    [/0c42:a103:007d/g, `0c42:a1${h}:007d`],
  ];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const text = readFileSync(p, 'latin1');
        const next = swaps.reduce((t, [re, to]) => t.replace(re, to), text);
        if (next !== text) writeFileSync(p, next, 'latin1');
      }
    }
  };
  walk(root);
  return root;
}

export function fixtureCopy(fixture: string): string {
  const { dir } = tempDir(`muster-${fixture}-`);
  cpSync(join(repoRoot, 'test', 'fixtures', fixture), dir, { recursive: true, verbatimSymlinks: true });
  for (const f of ['boot-id', 'phase', 'agent.sock']) rmSync(join(dir, 'run', 'muster', f), { force: true });
  return dir;
}
