/**
 * One scenario, the build system switched by config: VMs with empty disks PXE-boot on the lab's
 * bridge through muster's dnsmasq, boot the discovery image, are named by the naming rule, get
 * power (QMP), console (their serial pty) and the image `muster image build` made, and are built
 * by `muster build --reboot` with the build system their group maps to in the controller's config
 * (`build.groups`). Each reaches `run` in what it was built into:
 *
 *   netboot  Debian in RAM: kernel + the image's root (cpio) over HTTP, root on tmpfs, systemd
 *   disk     muster's installer writes the image onto the empty disk and reports done; the node
 *            boots Debian from its disk; power-cycled once more, it comes back from its disk
 *            again and is not built a second time
 *   fai      (opt-in: `npm run lab -- --build fai`) Debian's FAI installs it (fai.ts: the lab's FAI
 *            server): fai-chboot's pxelinux config, FAI's install kernel and nfsroot, FAI's
 *            install onto the empty disk, its TASKEND through fai-monitor; the node boots Debian
 *            from its disk
 *
 * Used by test/e2e/build-scenario.test.ts (in `npm test`: netboot and disk) and by
 * `npm run lab -- --build SYSTEM`.
 * The image is the one the image tests build (cached by its inputs under MUSTER_TEST_IMAGE_DIR).
 */
import { dirname } from 'node:path';
import { requireBuild } from '../helpers/controller.js';
import type { Event, NodeState } from '../../shared/protocol.js';
import type { Firmware } from './firmware.js';
import { FAI_IMAGE, openLabFai, type LabFai } from './fai.js';
import { labImage } from './image.js';
import { LabSite, labControllerConfig, MQTT_PORT, POOL, SUBNET } from './site.js';
import { bootTimeline, timelineSummary, type BootTimeline } from './timeline.js';
import { LabVm, type SerialLine } from './vm.js';

export type LabBuildSystem = 'netboot' | 'disk' | 'fai';

export interface BuildCase {
  system: LabBuildSystem;
  firmware: Firmware;
  mac: string;
}

/** The step a build's first boot to run is recorded as. */
const FIRST_BOOT: Record<LabBuildSystem, string> = { netboot: 'build', disk: 'disk boot', fai: 'fai install' };

export interface BuiltBoot {
  /** `discovery`, `build`, `disk boot`, `fai install` (to run from the disk), `power-cycle`. */
  step: string;
  state: NodeState;
  timeline: BootTimeline;
}

export interface BuildCaseReport extends BuildCase {
  node: string;
  boots: BuiltBoot[];
  /** The node's build events' states, in order (`prepared`, `building`, `done`, …). */
  buildStates: string[];
  /** Its build's last word (`installed image deb (…); boots its disk`). */
  buildDetail: string | null;
  /** The boot script muster serves it at the end. */
  script: string;
  /** Serial lines since the build: what the VM ran. */
  serial: string[];
  /** Serial lines since its last power cycle (the build's, or the one after a disk build). */
  serialAfterLastCycle: string[];
  /** The phases it went through since its last power cycle. */
  phasesAfterLastCycle: string[];
  /** fai: each step from `muster build` to run (`TASKBEGIN partition +212.4 s`). */
  steps: string[];
}

export interface BuildScenarioReport {
  /** The image muster built for netboot and disk (null when only fai builds). */
  image: { key: string; cached: boolean; buildMs: number } | null;
  /** The FAI nfsroot (fai cases only). */
  faiNfsroot: LabFai['nfsroot'] | null;
  cases: BuildCaseReport[];
  wallSeconds: number;
}

export const TEST_IMAGE_DIR = process.env.MUSTER_TEST_IMAGE_DIR ?? '/var/cache/muster-test/images';
/** The same inputs as the image tests (test/provision/os-image.test.ts), so one cached build serves all. */
const IMAGE = { name: 'deb', suite: 'bookworm' };
const IMAGE_BUILD_MS = 30 * 60_000;
/**
 * A whole Debian under TCG on 2 shared cores, two VMs at once: minutes. A disk build (installer,
 * 180 MB written, Debian from the disk) took 6.5 min with the machine loaded by other work.
 */
const BOOT_MS = 15 * 60_000;
/** FAI's install under TCG: its kernel and root over HTTP, partitioning, the base file, grub. */
const FAI_INSTALL_MS = 40 * 60_000;
/** The disk image is 2 GiB; the VM's disk has room to spare. */
const DISK_MIB = 4096;

export class BuildScenario {
  private site: LabSite | null = null;
  private fai: LabFai | null = null;
  private readonly vms: LabVm[] = [];

  constructor(private readonly log: (line: string) => void, private readonly verbose = false) {}

  async run(cases: readonly BuildCase[]): Promise<BuildScenarioReport> {
    const t0 = Date.now();
    const { log } = this;
    requireBuild();
    const discovery = labImage();
    const site = (this.site = await LabSite.open(log, this.verbose));
    const fai = cases.some((c) => c.system === 'fai') ? (this.fai = await openLabFai(site, `mqtt://10.99.0.1:${MQTT_PORT}`, log)) : null;
    // Each case's group takes its build system from the config; that is all that differs.
    const groups = Object.fromEntries(cases.map((c) => [groupOf(c), c.system]));
    const build = { discoveryImage: 'discovery', imageDirs: [dirname(discovery.kernel), dirname(discovery.initrd)], imageDir: TEST_IMAGE_DIR, groups, ...(fai && { fai: fai.section }) };
    // muster hears nothing from a node FAI installs until its installed system boots: no policy may power-cycle it before.
    const config = labControllerConfig({ mode: 'dhcp', ...SUBNET, pool: POOL, netns: site.net.server }, build, fai ? `${(FAI_INSTALL_MS + BOOT_MS) / 60_000}m` : undefined);
    // fai-chboot and fai-monitor, from fai-server.
    const { controller, watch } = await site.startController(fai ? { ...config, commands: { allowedDirs: ['/usr/sbin'] } } : config);
    const cli = controller.cli;
    await cli(['image', 'add', 'discovery', '--kernel', discovery.kernel, '--initrd', discovery.initrd, '--cmdline', 'console=ttyS0 muster.interval=1']);
    let built: { cached: boolean; manifest: { key: string; buildMs: number } } | null = null;
    if (cases.some((c) => c.system !== 'fai')) {
      log(`image: muster image build ${IMAGE.name} --suite ${IMAGE.suite} (cached by its inputs in ${TEST_IMAGE_DIR})`);
      built = JSON.parse((await cli(['image', 'build', IMAGE.name, '--suite', IMAGE.suite, '--json'], { timeoutMs: IMAGE_BUILD_MS })).stdout) as { cached: boolean; manifest: { key: string; buildMs: number } };
      log(`image: ${built.manifest.key} ${built.cached ? 'cached' : `built in ${(built.manifest.buildMs / 1000).toFixed(0)} s`}`);
    }
    await cli(['naming', 'on', 'b[1-9]']);

    const reports = await Promise.all(
      cases.map(async (c, i) => {
        const role = `${c.system}-${c.firmware}`;
        // FAI's root (squashfs) and config space live in RAM during its install.
        const vm = await LabVm.start({ name: role, mac: c.mac, firmware: c.firmware, dir: site.dir(role), netns: site.net.server, tap: site.net.tap(`tap${i}`), memoryMiB: c.system === 'fai' ? 3072 : 2048, diskMiB: DISK_MIB });
        this.vms.push(vm);
        const boots: BuiltBoot[] = [];
        // A wait that fails says where the VM was: the end of its serial port.
        const waiting = <T>(p: Promise<T>): Promise<T> =>
          p.catch((err: Error) => {
            throw new Error(`${err.message}; ${role}'s serial port ends: ${vm.serial.slice(-15).map((l) => l.text).join(' | ')}`);
          });
        const record = (step: string, from: number, state: NodeState) => {
          const steps = watch.events.filter((e) => e.kind === 'boot' && e.details.mac === c.mac);
          const timeline = bootTimeline(from, state.phaseSince, steps, vm.serial);
          boots.push({ step, state, timeline });
          log(`boot time: ${state.node} (${role}) ${step}: ${timelineSummary(timeline)}`);
        };

        // An unknown machine: the discovery image, a hello, a name from the rule.
        await vm.boot();
        const agentId = `mac-${c.mac.replaceAll(':', '')}`;
        const named = await waiting(watch.until(`the ${role} VM named by the naming rule`, BOOT_MS, () => watch.events.find((e) => e.kind === 'assigned' && e.agentId === agentId && e.details.by === 'naming')));
        const node = named.node!;
        const discovered = await waiting(watch.inPhase(node, 'run', BOOT_MS));
        record('discovery', vm.bootedAt, discovered);

        // Its group's build system, set by config; power, console and image set by the admin.
        const image = c.system === 'fai' ? FAI_IMAGE : IMAGE.name;
        await cli(['set', node, `groups=${groupOf(c)}`, `image=${image}`, `power=qemu://${vm.qmpSocket}`, `console=serial:${vm.pty}`]);
        const buildAt = Date.now();
        await cli(['build', node, '--reboot']);
        log(`build: ${node} (${role}) prepared in ${c.system} and power-cycled`);
        if (c.system === 'fai') {
          // FAI's end-of-install signal, through fai-monitor: done (or failed, with the task and code).
          const end = await waiting(watch.until(`${node}'s FAI install to end (TASKEND install)`, FAI_INSTALL_MS, () => watch.eventsOf(node, 'build').find((e) => e.at >= buildAt && (e.details.state === 'done' || e.details.state === 'failed'))));
          if (end.details.state === 'failed') {
            // FAI names the failing task and script on the console: the evidence, before the tail.
            const errors = vm.serial.filter((l) => l.at >= buildAt && /Exit code task_|FAILED with|ERROR/.test(l.text)).map((l) => l.text.trim());
            await waiting(Promise.reject(new Error(`${node}: ${end.message}; FAI said: ${errors.slice(-10).join(' | ') || '(nothing on the console)'}`)));
          }
          log(`build: ${node} (${role}) FAI install done after ${((end.at - buildAt) / 1000).toFixed(0)} s; it reboots into its disk`);
        }
        const first = await waiting(watch.inPhase(node, 'run', c.system === 'fai' ? BOOT_MS + FAI_INSTALL_MS : BOOT_MS, discovered.bootId));
        record(FIRST_BOOT[c.system], buildAt, first);

        let last = first;
        let lastCycle = buildAt;
        if (c.system === 'disk') {
          lastCycle = Date.now();
          await cli(['power', 'cycle', node]);
          last = await waiting(watch.inPhase(node, 'run', BOOT_MS, first.bootId));
          record('power-cycle', lastCycle, last);
        }
        const buildEvents = watch.eventsOf(node, 'build');
        return {
          ...c,
          node,
          boots,
          buildStates: buildEvents.map((e) => String(e.details.state)),
          buildDetail: (buildEvents.at(-1)?.details.detail as string | undefined) ?? null,
          script: await (await fetch(`${controller.httpUrl}/boot/${c.mac}.ipxe`)).text(),
          serial: vm.serial.filter((l) => l.at >= buildAt).map((l) => l.text),
          serialAfterLastCycle: vm.serial.filter((l) => l.at >= lastCycle).map((l) => l.text),
          phasesAfterLastCycle: watch.eventsOf(node, 'transition').filter((e) => e.details.axis === 'phase' && e.at >= lastCycle).map((e) => String(e.details.to)),
          steps: c.system === 'fai' ? faiSteps(node, buildAt, watch.events, fai!.fetches, vm.serial) : [],
        };
      }),
    );
    await cli(['naming', 'off']);
    const wallSeconds = (Date.now() - t0) / 1000;
    log(`build scenario: done in ${wallSeconds.toFixed(0)} s`);
    return { image: built && { key: built.manifest.key, cached: built.cached, buildMs: built.manifest.buildMs }, faiNfsroot: fai?.nfsroot ?? null, cases: reports, wallSeconds };
  }

  /** Stops the VMs and the site; safe to call twice. */
  async close(): Promise<void> {
    await Promise.allSettled(this.vms.splice(0).map((vm) => vm.stop()));
    await this.fai?.close();
    this.fai = null;
    await this.site?.close();
    this.site = null;
  }
}

/**
 * A fai build's way from `muster build` to run, in seconds after it: what the VM fetched from the
 * FAI server (pxelinux, kernel, root, config space), the kernels' banners, each FAI task muster
 * heard of through fai-monitor, and the installed system's phases.
 */
function faiSteps(node: string, from: number, events: readonly Event[], fetches: LabFai['fetches'], serial: readonly SerialLine[]): string[] {
  const marks = [
    ...fetches.filter((f) => f.at >= from).map((f) => ({ at: f.at, what: f.path })),
    ...serial.filter((l) => l.at >= from && l.text.includes('Linux version')).map((l) => ({ at: l.at, what: 'kernel banner' })),
    ...events.filter((e) => e.node === node && e.at >= from && e.kind === 'build').map((e) => ({ at: e.at, what: [`build ${String(e.details.state)}`, e.details.progress ?? e.details.detail].filter(Boolean).join(': ') })),
    ...events.filter((e) => e.node === node && e.at >= from && e.kind === 'transition' && e.details.axis === 'phase').map((e) => ({ at: e.at, what: `phase ${String(e.details.to)}` })),
  ].sort((a, b) => a.at - b.at);
  return marks.map((m) => `${m.what} +${((m.at - from) / 1000).toFixed(1)} s`);
}

function groupOf(c: BuildCase): string {
  return `${c.system}-${c.firmware}`;
}
