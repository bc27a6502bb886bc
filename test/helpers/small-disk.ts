import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

export interface SmallDisk {
  /** The mount point. */
  dir: string;
  /** Fills what is left of the filesystem (the write stops at ENOSPC). */
  fill(): void;
  /** Frees what fill() took. */
  free(): void;
  /** Unmounts and removes the mount point. */
  remove(): void;
}

/** A real 1 MB tmpfs (mounting needs root, as npm test runs in CI): a disk that fills up. */
export function smallDisk(test: string): SmallDisk {
  if (process.getuid?.() !== 0) throw new Error(`${test} mounts a tmpfs and needs root (npm test runs as root in CI)`);
  const mnt = tempDir('muster-small-disk-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mnt.dir]);
  const filler = join(mnt.dir, 'filler');
  return {
    dir: mnt.dir,
    fill() {
      try {
        writeFileSync(filler, Buffer.alloc(2 * 2 ** 20));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    },
    free: () => rmSync(filler),
    remove() {
      execFileSync('umount', ['-l', mnt.dir]);
      mnt.remove();
    },
  };
}
