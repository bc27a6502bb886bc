/**
 * Where the agent keeps the secret the controller issued it: ROOT/run/muster/agent-secret (this
 * boot; handed from the initramfs to the installed OS across switch-root) and
 * ROOT/var/lib/muster/agent-secret (kept by an installed OS across reboots; systemd's
 * StateDirectory). Both 0600, written whole then renamed into place. A diskless machine keeps
 * neither across a reboot and introduces itself with the bootstrap token again.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAgentSecret } from '../shared/wire.js';

const FILE = 'agent-secret';

export class SecretStore {
  readonly files: readonly string[];

  constructor(root: string) {
    this.files = [join(root, 'run', 'muster', FILE), join(root, 'var', 'lib', 'muster', FILE)];
  }

  /** The first file's secret that is well-formed, or null. */
  read(): string | null {
    for (const file of this.files) {
      const secret = readTrimmed(file);
      if (isAgentSecret(secret)) return secret;
    }
    return null;
  }

  /** Writes every file it can; returns the problems (`/var/lib/muster/agent-secret: EROFS …`). */
  save(secret: string): string[] {
    const problems: string[] = [];
    for (const file of this.files) {
      try {
        const dir = join(file, '..');
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, `${secret}\n`, { mode: 0o600 });
        chmodSync(tmp, 0o600);
        renameSync(tmp, file);
      } catch (err) {
        problems.push(`${file}: ${(err as Error).message}`);
      }
    }
    return problems;
  }
}

function readTrimmed(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}
