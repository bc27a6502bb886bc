/**
 * An FAI server's layout in a temp dir for tests (nfsroot.conf, a TFTP root with the install
 * kernel, a config space), and FAI's own client sender: `sendmon` from fai-client's
 * /usr/lib/fai/subroutines, over nc, as an installing node runs it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const FAI_KERNEL = 'vmlinuz-6.1.0-28-amd64';

export interface FaiServerDirs {
  etcDir: string;
  configSpace: string;
  pxeDir: string;
  nfsroot: string;
  logDir: string;
}

export function faiServerLayout(dir: string): FaiServerDirs {
  const dirs = { etcDir: join(dir, 'etc'), configSpace: join(dir, 'config'), pxeDir: join(dir, 'tftp/pxelinux.cfg'), nfsroot: join(dir, 'nfsroot'), logDir: join(dir, 'log') };
  for (const d of [dirs.etcDir, join(dirs.configSpace, 'package_config'), dirs.pxeDir, dirs.nfsroot, dirs.logDir]) mkdirSync(d, { recursive: true });
  writeFileSync(join(dirs.etcDir, 'nfsroot.conf'), `NFSROOT=${dirs.nfsroot}\nTFTPROOT=${join(dir, 'tftp')}\n`);
  writeFileSync(join(dir, 'tftp', FAI_KERNEL), '');
  return dirs;
}

/** An image: an FAI class with a package list in the config space. */
export function addFaiClass(dirs: FaiServerDirs, name: string): void {
  writeFileSync(join(dirs.configSpace, 'package_config', name), 'PACKAGES install\nopenssh-server\n');
}

/** FAI's own sendmon (sendid from FAI_SENDID on the client's kernel command line). */
export async function sendmon(dirs: FaiServerDirs, port: number, sendid: string, message: string): Promise<void> {
  await run('bash', ['-c', '. /usr/lib/fai/subroutines && sendmon "$1"', 'sendmon', message], {
    env: { ...process.env, faimond: '1', sendid, monserver: '127.0.0.1', FAI_MONITOR_PORT: String(port), LOGDIR: dirs.logDir },
  });
}

/** The pxelinux config file fai-chboot writes for a MAC: 01-52-54-00-12-34-56. */
export const pxeFile = (dirs: FaiServerDirs, mac: string) => join(dirs.pxeDir, `01-${mac.toLowerCase().replace(/:/g, '-')}`);
