/**
 * The lab's FAI server, for the build scenario's `fai` case: what a site's FAI server holds, made
 * here and served on the lab's bridge, with muster's `fai` build system driving it through FAI's
 * own fai-chboot and fai-monitor.
 *
 * - The install kernel, its dracut initrd, pxelinux.0 and the nfsroot as a squashfs:
 *   boot/build-fai-nfsroot.sh (fai-make-nfsroot), cached by its inputs under FAI_CACHE_DIR.
 * - A config space made for the run (configSpace()): the image class MUSTER (its .var: no log
 *   server; no debconf preseeding) with a disk_config for
 *   the VM's disk, a package list its base file already holds (basefiles/MUSTER.tar.zst: the VM
 *   reaches no mirror), and scripts/MUSTER/10-muster, which puts muster's agent bundle, node and
 *   the agent's systemd units into the installed system, points it at the controller, and makes
 *   the disk bootable with grub.
 * - One HTTP server, at 10.99.0.1:FAI_HTTP_PORT on the bridge (forwarded to 127.0.0.1): `/tftp/`
 *   FAI's TFTP root (pxelinux.cfg/ from fai-chboot's directory for this run), `/squashfs.img` (the
 *   root, `root=live:http://…`), `/config.tar` (FAI_CONFIG_SRC). No NFS, no TFTP server of FAI's.
 * - fai-monitor's port forwarded from 10.99.0.1 to the controller's fai-monitor on 127.0.0.1.
 *
 * muster's network boot hands a node its fai build prepared to pxelinux.0 here (the section's
 * bootUrl); pxelinux reads the node's pxelinux.cfg file fai-chboot wrote.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { agentBin, repoRoot } from '../helpers/controller.js';
import { freePort } from '../helpers/ports.js';
import type { LabSite } from './site.js';

/** The FAI class the scenario installs: `muster set NODE image=MUSTER`. */
export const FAI_IMAGE = 'MUSTER';
export const FAI_CACHE_DIR = process.env.MUSTER_TEST_FAI_DIR ?? '/var/cache/muster-test/fai';
const FAI_HTTP_PORT = 8081;
/** fai-make-nfsroot and two mmdebstraps: minutes the first time. */
const NFSROOT_BUILD_MS = 30 * 60_000;
const SERVER = '10.99.0.1';

export interface LabFai {
  /** The controller's `build.fai` section. */
  section: object;
  /** The nfsroot build: its directory, whether it came from the cache, and the first build's seconds. */
  nfsroot: { dir: string; cached: boolean; buildSeconds: number };
  /** Every file a VM fetched from the FAI server, in order, with when (`GET /squashfs.img`). */
  fetches: Array<{ at: number; path: string }>;
  close(): Promise<void>;
}

/** boot/build-fai-nfsroot.sh, its `step:` lines logged as they come; its last stdout line is the entry's directory. */
async function buildNfsroot(log: (line: string) => void): Promise<{ dir: string; cached: boolean; buildSeconds: number }> {
  const child = spawn(join(repoRoot, 'boot', 'build-fai-nfsroot.sh'), ['--cache', FAI_CACHE_DIR], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    log(`fai nfsroot: ${line}`);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), NFSROOT_BUILD_MS);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`boot/build-fai-nfsroot.sh failed (${code === null ? `killed after ${NFSROOT_BUILD_MS / 60_000} min` : `exit ${code}`}): ${stderr.slice(-3).join(' | ')}`);
  const dir = stdout.trim().split('\n').pop()!;
  return { dir, cached: stderr.some((l) => l.endsWith('(cached)')), buildSeconds: Number(readFileSync(join(dir, 'build-seconds'), 'utf8')) };
}

/** The config space: the MUSTER class, what it installs and how, and muster's files for its script. */
function configSpace(dir: string, nfsroot: string, controllerUrl: string): void {
  const put = (path: string, text: string, mode = 0o644) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text, { mode });
  };
  // The lab has no log server: FAI keeps its logs on the installed disk only (else savelog fails, error 410).
  put(`class/${FAI_IMAGE}.var`, 'LOGUSER=\n');
  // Nothing to preseed; without the directory FAI's debconf task ends with error 2.
  mkdirSync(join(dir, 'debconf'), { recursive: true });
  // One partition on the VM's empty disk, a DOS label grub-pc boots from.
  put(`disk_config/${FAI_IMAGE}`, 'disk_config disk1 disklabel:msdos bootable:1 fstabkey:uuid\nprimary / 1G- ext4 rw,errors=remount-ro\n');
  // All in the base file: instsoft fetches nothing (the lab's network reaches no mirror).
  put(`package_config/${FAI_IMAGE}`, 'PACKAGES install-norec\nsystemd-sysv\nlinux-image-cloud-amd64\ngrub-pc\n');
  put(`files/etc/apt/sources.list/${FAI_IMAGE}`, '# the lab installs from its base file; no mirror is reachable\n');
  mkdirSync(join(dir, 'basefiles'), { recursive: true });
  symlinkSync(join(nfsroot, 'base', 'DEBIAN.tar.zst'), join(dir, 'basefiles', `${FAI_IMAGE}.tar.zst`));
  const muster = join(dir, 'muster');
  mkdirSync(muster, { recursive: true });
  copyFileSync(agentBin, join(muster, 'agent.js'));
  copyFileSync(join(repoRoot, 'dist', 'agent-network.js'), join(muster, 'agent-network.js'));
  copyFileSync(process.execPath, join(muster, 'node'));
  for (const f of ['muster-agent-start.sh', 'muster-agent.service', 'muster-agent-run.service', 'muster-network.service']) copyFileSync(join(repoRoot, 'boot', 'systemd', f), join(muster, f));
  put(`scripts/${FAI_IMAGE}/10-muster`, MUSTER_SCRIPT.replace('@CONTROLLER@', controllerUrl), 0o755);
}

/**
 * FAI runs it in the configure task ($target: the installed system, $FAI: the config space):
 * muster's agent as build-os-image.sh installs it, the controller it reports to, DHCP by
 * systemd-networkd, and grub on the disk setup-storage partitioned, on the serial console.
 */
const MUSTER_SCRIPT = `#!/bin/bash
set -euo pipefail
src=$FAI/muster
install -m 755 $src/node $target/usr/bin/node
install -D -m 644 $src/agent.js $target/usr/lib/muster/agent.js
install -m 644 $src/agent-network.js $target/usr/lib/muster/agent-network.js
install -m 755 $src/muster-agent-start.sh $target/usr/lib/muster/agent-start.sh
for unit in muster-agent.service muster-agent-run.service; do
  install -m 644 $src/$unit $target/etc/systemd/system/$unit
  ln -sf /etc/systemd/system/$unit $target/etc/systemd/system/multi-user.target.wants/$unit
done
install -m 644 $src/muster-network.service $target/etc/systemd/system/muster-network.service
mkdir -p $target/etc/systemd/system/systemd-networkd.service.wants $target/etc/systemd/system/network-online.target.wants
ln -sf /etc/systemd/system/muster-network.service $target/etc/systemd/system/systemd-networkd.service.wants/muster-network.service
printf '[Match]\\nName=en* eth*\\n\\n[Network]\\nDHCP=yes\\n' > $target/etc/systemd/network/80-muster-dhcp.network
ln -sf /lib/systemd/system/systemd-networkd.service $target/etc/systemd/system/multi-user.target.wants/systemd-networkd.service
ln -sf /lib/systemd/system/systemd-networkd-wait-online.service $target/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service
printf 'MUSTER_CONTROLLER=@CONTROLLER@\\nMUSTER_INTERVAL=1\\n' > $target/etc/default/muster
echo "\${FAI_SENDID:-muster-node}" > $target/etc/hostname
# grub on the disk setup-storage partitioned, talking on the serial port
. $LOGDIR/disk_var.sh
sed -i -e 's/^GRUB_TIMEOUT=.*/GRUB_TIMEOUT=1/' -e 's/^GRUB_CMDLINE_LINUX_DEFAULT=.*/GRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0"/' $target/etc/default/grub
printf 'GRUB_TERMINAL=serial\\nGRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"\\n' >> $target/etc/default/grub
$ROOTCMD grub-install --target=i386-pc "$BOOT_DEVICE"
$ROOTCMD update-grub
`;

/** A read-only file server: each path maps to one file; every fetch is recorded. */
function fileServer(files: (path: string) => string | null, fetches: LabFai['fetches'], log: (line: string) => void): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const file = req.method === 'GET' || req.method === 'HEAD' ? files(path) : null;
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end(`no ${path} here\n`);
      return;
    }
    fetches.push({ at: Date.now(), path: `${req.method} ${path}` });
    log(`fai server: ${req.method} ${path}`);
    res.writeHead(200, { 'Content-Length': statSync(file).size, 'Content-Type': 'application/octet-stream' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
}

/** Builds (or takes from the cache) the nfsroot, writes the config space, serves them on the lab's bridge. */
export async function openLabFai(site: LabSite, controllerUrl: string, log: (line: string) => void): Promise<LabFai> {
  const t0 = Date.now();
  const nfsroot = await buildNfsroot(log);
  log(`fai nfsroot: ${nfsroot.dir} ${nfsroot.cached ? `cached (first build took ${nfsroot.buildSeconds} s)` : `built in ${nfsroot.buildSeconds} s`}; ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const dir = site.dir('fai');
  const etcDir = join(dir, 'etc');
  const pxeDir = join(dir, 'pxelinux.cfg');
  const space = join(dir, 'config');
  mkdirSync(etcDir, { recursive: true });
  mkdirSync(pxeDir, { recursive: true });
  // fai-chboot finds the install kernel in TFTPROOT; it writes into pxeDir (-D).
  writeFileSync(join(etcDir, 'nfsroot.conf'), `NFSROOT=${nfsroot.dir}/nfsroot\nTFTPROOT=${nfsroot.dir}/tftp\n`);
  configSpace(space, nfsroot.dir, controllerUrl);
  // FAI_CONFIG_SRC=http://…/config.tar: a plain tar (the base file in it is compressed already).
  await promisify(execFile)('tar', ['-C', space, '-chf', join(dir, 'config.tar'), '.'], { timeout: 120_000 });

  const fetches: LabFai['fetches'] = [];
  const server = fileServer(
    (path) => {
      if (path === '/squashfs.img') return join(nfsroot.dir, 'squashfs.img');
      if (path === '/config.tar') return join(dir, 'config.tar');
      const m = /^\/tftp\/(pxelinux\.cfg\/)?([A-Za-z0-9._-]+)$/.exec(path);
      if (!m) return null;
      return m[1] ? join(pxeDir, m[2]!) : join(nfsroot.dir, 'tftp', m[2]!);
    },
    fetches,
    log,
  );
  const httpPort = await freePort();
  await new Promise<void>((resolve) => server.listen(httpPort, '127.0.0.1', resolve));
  const monitorPort = await freePort();
  // fai-monitor listens on the controller's host; the clients send to the bridge's address, same port.
  for (const [inside, host] of [[FAI_HTTP_PORT, httpPort], [monitorPort, monitorPort]] as const) for (const p of await site.net.forward(inside, host, site.tmp.dir)) site.own(p);
  const url = `http://${SERVER}:${FAI_HTTP_PORT}`;
  return {
    nfsroot,
    fetches,
    section: {
      monitorPort,
      monitorHost: SERVER,
      etcDir,
      pxeDir,
      configSpace: space,
      configSrc: `${url}/config.tar`,
      classes: [],
      // No sshd in this nfsroot; reboot: FAI boots the installed disk when done.
      flags: 'verbose,reboot',
      kernelArgs: [`root=live:${url}/squashfs.img`, 'rd.live.overlay.overlayfs=1', 'console=ttyS0'],
      bootUrl: `${url}/tftp`,
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
