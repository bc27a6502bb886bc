/**
 * ROOT/run/muster: per-boot state on tmpfs. The boot id lives here so that an agent restarted in
 * the same boot, and the `phase` subcommand, use the same one; the phase so a restart resumes it.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { AgentPhase } from '../shared/protocol.js';
import { isAgentPhase, isBootId } from '../shared/wire.js';

export class RunDir {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'run', 'muster');
  }

  get socketPath(): string {
    return join(this.dir, 'agent.sock');
  }

  /** This boot's id: the one already recorded, else a new random one, recorded for the others. */
  bootId(): string {
    const known = this.read('boot-id');
    if (isBootId(known)) return known;
    const fresh = randomHex(16);
    try {
      mkdirSync(this.dir, { recursive: true });
      // Written whole, then linked into place (fails if it exists): when two processes race, the
      // first id wins and the loser reads it complete, never an empty file just created.
      const tmp = join(this.dir, `.boot-id.${process.pid}`);
      writeFileSync(tmp, `${fresh}\n`);
      try {
        linkSync(tmp, join(this.dir, 'boot-id'));
      } finally {
        rmSync(tmp, { force: true });
      }
      return fresh;
    } catch (err) {
      const winner = this.read('boot-id');
      if (isBootId(winner)) return winner;
      throw new Error(`cannot record the boot id in ${this.dir}: ${(err as Error).message}`);
    }
  }

  savedPhase(): AgentPhase | null {
    const phase = this.read('phase');
    return isAgentPhase(phase) ? phase : null;
  }

  savePhase(phase: AgentPhase): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = join(this.dir, `phase.${process.pid}.tmp`);
    writeFileSync(tmp, `${phase}\n`);
    renameSync(tmp, join(this.dir, 'phase'));
  }

  private read(name: string): string | null {
    try {
      return readFileSync(join(this.dir, name), 'utf8').trim();
    } catch {
      return null;
    }
  }
}

/**
 * `bytes` random bytes as hex, from /dev/urandom: loading node:crypto for them would cost ~3 ms of
 * every agent start. node:crypto only where /dev is not there.
 */
function randomHex(bytes: number): string {
  const buf = Buffer.alloc(bytes);
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      if (readSync(fd, buf) === bytes) return buf.toString('hex');
    } finally {
      closeSync(fd);
    }
  } catch {
    // fall through to node:crypto
  }
  const { randomBytes } = createRequire('/')('node:crypto') as typeof import('node:crypto');
  return randomBytes(bytes).toString('hex');
}
