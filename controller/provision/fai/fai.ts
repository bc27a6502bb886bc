/**
 * fai: Debian's FAI (Fully Automatic Installation) behind the build interface, through FAI's own
 * tools. prepare writes the node's pxelinux config with `fai-chboot -I` (one file per MAC, FAI's
 * install kernel with the node's classes), release rewrites it with `fai-chboot -o` (localboot:
 * the next boot is the local disk), and the install's progress and end come from the fai-monitor
 * muster runs (`TASKBEGIN …` → building, `TASKEND install 0` → localboot, then done). Images are the classes of
 * the FAI config space that have a package list (package_config/CLASS); tags become extra classes.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { BuildConfig } from '../../../shared/node-network.js';
import { lastLine, runProgram } from '../../process/run.js';
import { NodeLocks } from '../node-lock.js';
import { checkBuildConfig, checkNodeName } from '../validate.js';
import { BuildError, type BuildCapability, type BuildImage, type BuildState, type BuildStatus, type BuildSystem } from '../types.js';
import { startFaiMonitor, type FaiMessage, type FaiMonitor } from './monitor.js';

/** An FAI class name as FAI's class files and ADDCLASSES take it. */
const FaiClass = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, 'FAI class must hold only letters, digits, "_", "." and "-" (max 64)');

/** The `build.fai` section of the controller config. */
export const FaiSection = z
  .object({
    /** Registry name. */
    name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'name must be lowercase letters, digits and "-"').default('fai'),
    /** fai-chboot and fai-monitor (each inside commands.allowedDirs). */
    chboot: z.string().min(1).default('/usr/sbin/fai-chboot'),
    monitor: z.string().min(1).default('/usr/sbin/fai-monitor'),
    /** Port fai-monitor listens on (FAI_MONITOR_PORT on the clients). */
    monitorPort: z.number().int().min(1).max(65535).default(4711),
    /** Address the clients send to (monserver); without it FAI uses its SERVER (from DHCP or FAI_CONFIG_SRC). */
    monitorHost: z.string().regex(/^[A-Za-z0-9.:-]+$/, 'monitorHost must be a host name or address').optional(),
    /** FAI's configuration directory (fai-chboot -C: nfsroot.conf names NFSROOT and TFTPROOT). */
    etcDir: z.string().min(1).default('/etc/fai'),
    /** The pxelinux.cfg directory (fai-chboot -D); default FAI's TFTPROOT/pxelinux.cfg. */
    pxeDir: z.string().min(1).optional(),
    /** The FAI config space on this host: its package_config/ files are the images. */
    configSpace: z.string().min(1).default('/srv/fai/config'),
    /** FAI_CONFIG_SRC for the clients (fai-chboot -u), e.g. nfs://faiserver/srv/fai/config. */
    configSrc: z.string().regex(/^\S+$/, 'configSrc must be a URL without spaces').optional(),
    /** Classes every node gets before its image's (e.g. DEBIAN, FAIBASE, GRUB_PC). */
    classes: z.array(FaiClass).default([]),
    /** Further parameters for FAI's install kernel, after fai-chboot's own (a later `root=` wins: `root=live:http://…/squashfs.img`). */
    kernelArgs: z.array(z.string().regex(/^[^\s"'\\$;&|<>{}]+$/, 'a kernel parameter must hold no spaces, quotes or shell or boot-script syntax')).default([]),
    /**
     * FAI's TFTP root as the nodes reach it over HTTP (`http://10.0.0.1/fai`): with it, muster's own
     * network boot sends a node fai has prepared to FAI's pxelinux.0 there (iPXE `chain`, DHCP
     * option 210 = this URL), which reads the node's pxelinux.cfg file; without it the site's DHCP
     * must hand those nodes pxelinux.0 itself.
     */
    bootUrl: z.string().regex(/^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/, 'bootUrl must be an http:// URL without spaces or query').optional(),
    /** FAI_FLAGS (fai-chboot -f); `reboot` makes the node boot its disk after the install. */
    flags: z.string().regex(/^[a-z,]+$/, 'flags must be comma-separated FAI flags').default('verbose,sshd,reboot'),
    /** Per fai-chboot call. */
    timeoutMs: z.number().int().positive().default(30_000),
  })
  .strict();
export type FaiSection = z.output<typeof FaiSection>;

/** Where a client's report can move a build. */
type ReportedState = Extract<BuildState, 'building' | 'done' | 'failed'>;

export interface FaiOptions extends FaiSection {
  /** The MAC addresses muster knows for a node (its hardware ids); the config's interface MACs are added. */
  macsOf: (node: string) => readonly string[];
  now: () => number;
  /** A client's report moved a node's build (each task begun: building, then done or failed), with its detail. */
  onChange?: (node: string, state: ReportedState, detail: string) => void;
}

/** A muster tag as an FAI class: upper case, what FAI's class names do not hold becomes "_". */
export function tagClass(tag: string): string {
  return tag.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** The classes a node installs with, in FAI's order (later classes override earlier ones). */
export function nodeClasses(base: readonly string[], config: BuildConfig): string[] {
  return [...new Set([...base, config.image, ...config.tags.map(tagClass)])];
}

interface NodeState {
  config: BuildConfig;
  state: BuildState;
  detail?: string;
  since?: number;
}

export interface FaiBuildSystem extends BuildSystem {
  /** A client message as fai-monitor printed it (exposed for the monitor and tests that own one). */
  receive(msg: FaiMessage): void;
  /**
   * The iPXE script that hands the node's machine to FAI's pxelinux (`bootUrl`) while its install
   * is prepared or under way; null otherwise, or without a bootUrl (its network boot is not fai's).
   */
  chainScript(node: string, mac: string): string | null;
}

/** iPXE: pxelinux.0 from FAI's TFTP root, told that root as its path prefix (option 210) so it reads pxelinux.cfg/ there. */
export function faiChainScript(bootUrl: string, node: string, mac: string): string {
  const root = bootUrl.replace(/\/+$/, '');
  return `#!ipxe\n# muster: ${node} (${mac}): FAI installs it (fai-chboot prepared its pxelinux config)\necho muster: ${node}: FAI install, pxelinux from ${root}\nset 210:string ${root}/\nchain ${root}/pxelinux.0\n`;
}

/** Starts fai-monitor, then the system; close() stops the monitor. */
export async function openFaiBuildSystem(opts: FaiOptions): Promise<FaiBuildSystem> {
  let system: FaiBuildSystem | null = null;
  let monitorDown: string | null = null;
  const monitor = await startFaiMonitor({
    executable: opts.monitor,
    port: opts.monitorPort,
    onMessage: (msg) => system?.receive(msg),
    onExit: (why) => (monitorDown = why),
  }).catch((err: Error) => {
    throw new BuildError('tool-failed', null, `fai: ${err.message}`);
  });
  system = createFaiBuildSystem(opts, monitor, () => monitorDown);
  return system;
}

function createFaiBuildSystem(opts: FaiOptions, monitor: FaiMonitor, monitorDown: () => string | null): FaiBuildSystem {
  const locks = new NodeLocks();
  const nodes = new Map<string, NodeState>();
  const capabilities: readonly BuildCapability[] = ['reports-progress'];
  const packageConfig = join(opts.configSpace, 'package_config');

  const known = (node: string): NodeState => {
    checkNodeName(node);
    const s = nodes.get(node);
    if (!s) throw new BuildError('unknown-node', node, `not configured in ${opts.name}`);
    return s;
  };
  const enter = (s: NodeState, state: BuildState, detail?: string) => {
    s.state = state;
    s.detail = detail;
    s.since = opts.now();
  };
  /** A move a client's report caused: the controller hears of it. */
  const reported = (node: string, s: NodeState, state: ReportedState, detail: string) => {
    enter(s, state, detail);
    opts.onChange?.(node, state, detail);
  };
  const macs = (node: string, config: BuildConfig): string[] => {
    const all = [...opts.macsOf(node), ...config.interfaces.flatMap((i) => (i.mac ? [i.mac] : []))];
    const unique = [...new Set(all.map((m) => m.toLowerCase()))];
    if (unique.length === 0) throw new BuildError('bad-config', node, 'no MAC address known (fai-chboot names the pxelinux config by MAC): discover the node or give an interface a mac');
    return unique;
  };
  const chboot = async (node: string, args: string[]): Promise<void> => {
    const what = `fai-chboot ${args.filter((a) => a.startsWith('-')).join(' ')}`;
    const signal = AbortSignal.timeout(opts.timeoutMs);
    const base = ['-C', opts.etcDir, ...(opts.pxeDir ? ['-D', opts.pxeDir] : [])];
    const r = await runProgram(opts.chboot, [...base, ...args], { signal }).catch((err: Error) => {
      if (signal.aborted) throw new BuildError('timeout', node, `${what} did not finish within ${opts.timeoutMs / 1000} s (killed)`);
      throw new BuildError('tool-failed', node, `${what} could not be started: ${err.message}`);
    });
    if (r.code !== 0) throw new BuildError('tool-failed', node, `${what} failed (${r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`}): ${lastLine(r.stderr) || lastLine(r.stdout) || '(no output)'}`);
    // fai-chboot only warns (and exits 0) when it cannot write a file; its normal output is on stdout.
    if (r.stderr.trim() !== '') throw new BuildError('tool-failed', node, `${what}: ${lastLine(r.stderr)}`);
  };
  const images = async (): Promise<BuildImage[]> => {
    try {
      const entries = await readdir(packageConfig, { withFileTypes: true });
      return entries.filter((e) => e.isFile() && FaiClass.safeParse(e.name).success).map((e) => ({ name: e.name, detail: 'FAI class with package_config' })).sort((a, b) => a.name.localeCompare(b.name));
    } catch (err) {
      throw new BuildError('tool-failed', null, `fai: cannot list the images in ${packageConfig}: ${(err as Error).message}`);
    }
  };

  return {
    name: opts.name,
    capabilities,
    images,
    async configure(node, config) {
      checkNodeName(node);
      const checked = checkBuildConfig(node, config);
      const have = (await images()).map((i) => i.name);
      if (!have.includes(checked.image)) throw new BuildError('unknown-image', node, `image ${checked.image} is not an FAI class with a package_config file in ${opts.configSpace} (have: ${have.join(', ') || 'none'})`);
      await locks.run(node, async () => {
        const s = nodes.get(node);
        if (s) s.config = checked;
        else nodes.set(node, { config: checked, state: 'idle', since: opts.now() });
      });
    },
    async prepare(node) {
      const s = known(node);
      await locks.run(node, async () => {
        const list = macs(node, s.config);
        const kernelArgs = [`ADDCLASSES=${nodeClasses(opts.classes, s.config).join(',')}`, `FAI_SENDID=${node}`, `FAI_MONITOR_PORT=${opts.monitorPort}`, ...(opts.monitorHost ? [`monserver=${opts.monitorHost}`] : []), ...opts.kernelArgs];
        await chboot(node, ['-I', '-f', opts.flags, '-k', kernelArgs.join(' '), ...(opts.configSrc ? ['-u', opts.configSrc] : []), ...list]);
        enter(s, 'prepared', `fai install of ${s.config.image} on the next network boot`);
      });
    },
    async status(node): Promise<BuildStatus> {
      const s = known(node);
      const down = monitorDown();
      const detail = down && (s.state === 'prepared' || s.state === 'building') ? `${s.detail ?? ''} (no reports: ${down})`.trim() : s.detail;
      return { state: s.state, ...(detail === undefined ? {} : { detail }), ...(s.since === undefined ? {} : { since: s.since }) };
    },
    async release(node) {
      const s = known(node);
      await locks.run(node, async () => {
        await chboot(node, ['-o', ...macs(node, s.config)]);
        if (s.state !== 'done') enter(s, 'idle', 'next boot: local disk');
      });
    },
    receive(msg) {
      const s = nodes.get(msg.sendid);
      // Reports count only for a build muster arranged: a stray or late client changes nothing.
      if (!s || (s.state !== 'prepared' && s.state !== 'building')) return;
      const outcome = messageOutcome(msg);
      if (!outcome) return;
      if (outcome.state !== 'done') return reported(msg.sendid, s, outcome.state, outcome.detail);
      // As fai-monitor -b does: the installed node reboots (FAI_FLAGS reboot), so its next boot
      // must be its disk before muster calls it done, or it would install again.
      void locks.run(msg.sendid, async () => {
        try {
          await chboot(msg.sendid, ['-o', ...macs(msg.sendid, s.config)]);
          reported(msg.sendid, s, 'done', outcome.detail);
        } catch (err) {
          reported(msg.sendid, s, 'failed', `${outcome.detail}, but its next boot could not be set to the local disk (it would install again): ${(err as Error).message}`);
        }
      });
    },
    chainScript(node, mac) {
      const s = nodes.get(node);
      return opts.bootUrl && (s?.state === 'prepared' || s?.state === 'building') ? faiChainScript(opts.bootUrl, node, mac) : null;
    },
    async close() {
      await locks.idle();
      await monitor.stop();
    },
  };
}

/** What a client message means for its node's build; null when it changes nothing. */
export function messageOutcome(msg: FaiMessage): { state: ReportedState; detail: string } | null {
  if (msg.kind === 'TASKERROR') return { state: 'failed', detail: `fai task ${msg.task} failed with error ${msg.code ?? '?'}` };
  if (msg.kind === 'TASKEND' && msg.task === 'install') {
    return msg.code === 0 ? { state: 'done', detail: 'fai install finished' } : { state: 'failed', detail: `fai install ended with error ${msg.code ?? '?'}` };
  }
  if (msg.kind === 'TASKBEGIN') return { state: 'building', detail: `fai task ${msg.task}` };
  return null;
}
