/**
 * Runs the agent swarm (soak-swarm.ts) in a child process and talks to it: start agents, read
 * their counters, kill some. The swarm is bundled with esbuild into node_modules/.cache (so its
 * `mqtt` import resolves) because Node 20 cannot run TypeScript.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import type { SwarmCommand, SwarmStartOptions, SwarmStats } from './soak-swarm.js';

export type { SwarmStartOptions, SwarmStats };

/**
 * The repository: as bench/soak.mjs names it (a worktree whose node_modules is a link to another
 * checkout's would otherwise find that checkout), else found upwards from here: this file also
 * runs bundled from node_modules/.cache.
 */
export const repoRoot = (() => {
  if (process.env.MUSTER_SOAK_ROOT) return process.env.MUSTER_SOAK_ROOT;
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, 'bench', 'soak-swarm.ts'))) return dir;
  throw new Error(`cannot find the muster repository above ${import.meta.dirname}`);
})();
const cacheDir = join(repoRoot, 'node_modules', '.cache', 'muster-soak');

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Payload<C> = C extends { id: number } ? Omit<C, 'id'> : never;

export class Swarm {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(new Error(`swarm: ${m.error}`));
    });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        for (const p of this.pending.values()) p.reject(new Error(`swarm process exited (${code})`));
        this.pending.clear();
        resolve(code);
      }),
    );
  }

  /** Bundles (once per process) and forks a swarm; `name` keeps concurrent bundles apart. */
  static async launch(name = 'swarm'): Promise<Swarm> {
    mkdirSync(cacheDir, { recursive: true });
    const outfile = join(cacheDir, `${name}-${process.pid}.mjs`);
    await build({
      entryPoints: [join(repoRoot, 'bench', 'soak-swarm.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
    // A clean execArgv: the swarm must not inherit the parent's loaders (vitest's).
    return new Swarm(fork(outfile, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  private send<T>(c: Payload<SwarmCommand>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...c, id } as SwarmCommand);
    });
  }

  /** Starts agents; resolves with their ids once every one has been started (not connected). */
  start(opts: SwarmStartOptions): Promise<string[]> {
    return this.send({ cmd: 'start', opts });
  }

  stats(): Promise<SwarmStats> {
    return this.send({ cmd: 'stats' });
  }

  /** Kills agents abruptly (their wills fire); resolves with how many were running. */
  kill(agents: string[]): Promise<number> {
    return this.send({ cmd: 'kill', agents });
  }

  /** Agents stop heartbeating with their connections up (hung nodes); resolves with how many there were. */
  hang(agents: string[]): Promise<number> {
    return this.send({ cmd: 'hang', agents });
  }

  /** Hung agents heartbeat again (a reset brought the node back); resolves with how many there were. */
  revive(agents: string[]): Promise<number> {
    return this.send({ cmd: 'revive', agents });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.send({ cmd: 'stop' }).catch(() => {});
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }
}
