/**
 * The first-stage iPXE loaders TFTP serves: present, regular, not empty, and where Debian's ipxe
 * package installed them, with the checksum dpkg recorded (a damaged or replaced file shows).
 */
import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileProblem } from '../doctor/checks.js';
import { LOADERS } from './dnsmasq-config.js';

/** dpkg's record of the ipxe package's files: `<md5>  usr/lib/ipxe/undionly.kpxe` per line. */
const IPXE_MD5SUMS = 'ipxe.md5sums';

export interface LoaderReport {
  dir: string;
  files: string[];
  problems: FileProblem[];
  /** Loaders whose checksum matched the package's. */
  verified: number;
}

export async function checkLoaders(tftpRoot: string, dpkgInfoDir = '/var/lib/dpkg/info'): Promise<LoaderReport> {
  const sums = await packageSums(join(dpkgInfoDir, IPXE_MD5SUMS));
  const files = Object.values(LOADERS) as string[];
  const problems: FileProblem[] = [];
  let verified = 0;
  for (const file of files) {
    const path = join(tftpRoot, file);
    try {
      const real = await realpath(path);
      const st = await stat(real);
      if (!st.isFile()) throw new Error('is not a regular file');
      if (st.size === 0) throw new Error('is empty');
      const expected = sums.get(real);
      if (expected === undefined) continue;
      const md5 = createHash('md5').update(await readFile(real)).digest('hex');
      if (md5 !== expected) throw new Error(`differs from the ipxe package's (md5 ${md5}, dpkg says ${expected})`);
      verified++;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      problems.push({ what: file, problem: e.code === 'ENOENT' ? 'is missing' : e.message });
    }
  }
  return { dir: tftpRoot, files, problems, verified };
}

/** Absolute path → md5 from a dpkg md5sums file; empty when there is none (not a Debian system, package not installed). */
async function packageSums(file: string): Promise<Map<string, string>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{32}) {2}(.+)$/.exec(line);
    if (m) sums.set(`/${m[2]}`, m[1]!);
  }
  return sums;
}
