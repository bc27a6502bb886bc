/**
 * A throwaway PostgreSQL cluster for tests and the bench (bench/scenarios/federation-sockets.mjs): Debian's postgresql 15 binaries, initdb in a temp
 * directory, listening only on 127.0.0.1 on a free port, stopped and removed by `stop()`.
 * PostgreSQL refuses to run as root: as root, the cluster's directory belongs to the `postgres`
 * system user and initdb and postgres run as it (setpriv); otherwise they run as the current user.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import { start, type Proc } from './proc.js';

export interface TestPostgres {
  /** `postgres://muster@127.0.0.1:PORT/postgres` (trust authentication on loopback). */
  url: string;
  /** A new, empty database in this cluster: its URL. */
  createDatabase(): Promise<string>;
  /** The postmaster (its backends are its children): for a caller that must kill it or read its CPU. */
  proc: Proc;
  stop(): Promise<void>;
}

/** The newest installed server's binaries (`/usr/lib/postgresql/N/bin`). */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))) : [];
  if (versions.length === 0) throw new Error(`PostgreSQL server not found under ${root}: install the Debian package postgresql (scripts/deps.sh)`);
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0]!, 'bin');
}

/** The `postgres` system user's uid (`-u`) or gid (`-g`). */
function idOf(flag: '-u' | '-g'): number {
  try {
    return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  } catch {
    throw new Error('running as root, the tests start PostgreSQL as the system user postgres, which does not exist: install the Debian package postgresql (scripts/deps.sh)');
  }
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'muster-pg-'));
  // As root, the server's programs run as `postgres`, which must own the directory they write.
  const user = process.getuid?.() === 0 ? { uid: idOf('-u'), gid: idOf('-g') } : null;
  if (user) chownSync(dir, user.uid, user.gid);
  const as = (cmd: string, args: string[]): [string, string[]] => (user ? ['setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', cmd, ...args]] : [cmd, args]);
  const data = join(dir, 'data');
  const [initCmd, initArgs] = as(join(bin, 'initdb'), ['-D', data, '-U', 'muster', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  execFileSync(initCmd, initArgs, { stdio: 'pipe', cwd: dir });
  const port = await freePort();
  // fsync off: a test cluster is thrown away, and the 2-core machine is shared.
  const [cmd, args] = as(join(bin, 'postgres'), ['-D', data, '-c', `listen_addresses=127.0.0.1`, '-c', `port=${port}`, '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']);
  const proc: Proc = start(cmd, args, { cwd: dir });
  await proc.waitFor(/database system is ready to accept connections/, 30_000);
  const url = `postgres://muster@127.0.0.1:${port}/postgres`;
  let made = 0;
  return {
    url,
    proc,
    async createDatabase() {
      const name = `t${process.pid}_${++made}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://muster@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      // SIGINT: PostgreSQL's fast shutdown (disconnects clients, no waiting).
      await proc.stop('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
