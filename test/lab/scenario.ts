/**
 * The virtual cluster lab: three qemu VMs with empty disks PXE-boot on a Linux bridge inside a
 * network namespace (test/network/netns.ts), through muster's dnsmasq and a real
 * `muster controller`, and the whole loop is exercised and checked. Each is an unknown machine:
 * it boots the discovery image, says hello and is named by the naming rule (lab[1-3], in hello
 * order); then the lab sets its power, console and image:
 *
 *   bios        SeaBIOS + iPXE ROM, power by QMP (`qemu://`)       → frozen: power-cycled, back to run
 *   uefi        OVMF, power by QMP                                 → admin-offline and frozen: left alone
 *   secureboot  OVMF with Secure Boot enforced, power by ipmi_sim  → kernel panic: seen on the console, corrected
 *
 * The network runs in dhcp mode with Secure Boot's signed chain (shim → grub → the Debian-signed
 * kernel, all over TFTP), which UEFI machines with Secure Boot off take too. Then the controller
 * restarts in proxy mode beside a second dnsmasq playing the site's DHCP server, and the uefi VM is
 * power-cycled: it boots snponly.efi and iPXE with the site's address and reaches run again.
 *
 * Each VM's console is its serial pty, driven by the controller's serial console driver. The
 * controller listens on 127.0.0.1; the VMs reach its MQTT and HTTP ports at 10.99.0.1 through
 * socat forwarders into the namespace. Used by test/e2e/lab.test.ts (in `npm test`) and by
 * `npm run lab` (verbose, for people). Needs root (namespaces, taps, DHCP's port).
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { musterBin, requireBuild } from '../helpers/controller.js';
import type { CliJson } from '../../shared/cli-output.js';
import type { Event, NodeState } from '../../shared/protocol.js';
import { expectCliJson } from '../helpers/cli-json.js';
import { LabBmc } from './bmc.js';
import type { Firmware } from './firmware.js';
import { labImage } from './image.js';
import { bootTimeline, timelineSummary, type BootTimeline } from './timeline.js';
import { LabSite, labControllerConfig, POOL, SUBNET } from './site.js';
import { LabVm } from './vm.js';
import type { LabWatch } from './watch.js';

export interface LabOptions {
  /** Progress lines for people. */
  log: (line: string) => void;
  /** Also log every controller event as it arrives. */
  verbose?: boolean;
}

export type LabRole = 'bios' | 'uefi' | 'secureboot';

export interface LabBoot {
  role: LabRole;
  node: string;
  /** `first boot`, the corrective action that rebooted it, or `proxy mode`. */
  cause: string;
  /** From qemu running (or the action starting) to the node in `run`, as the controller saw it, and where it went. */
  timeline: BootTimeline;
}

export interface LabReport {
  image: { initrd: string; bytes: number; summary: string };
  /** The node the naming rule gave each VM. */
  names: Record<LabRole, string>;
  /** The order the VMs said hello in. */
  helloOrder: LabRole[];
  boots: LabBoot[];
  /** Per node: the events the checks relied on, and the last console lines. */
  nodes: Record<string, { state: NodeState; actions: Event[]; console: Event[]; consoleTail: string[] }>;
  bmcActions: string[];
  /** The uefi node's journal (`muster history`) up to the proxy-mode boot. */
  offlineNodeHistory: CliJson<'history'>;
  /** The uefi node stayed frozen while offline: nobody resumed or reset it. */
  offlineNodeStillFrozen: boolean;
  /** What the site's DHCP server logged (proxy mode). */
  siteServerLog: string;
  wallSeconds: number;
}

/** The image's own command line; netboot adds muster.controller= and BOOTIF=. */
const CMDLINE = 'console=ttyS0 muster.interval=1 muster.shell';
const VMS: ReadonlyArray<{ role: LabRole; firmware: Firmware; mac: string }> = [
  { role: 'bios', firmware: 'bios', mac: '52:54:00:6c:61:01' },
  { role: 'uefi', firmware: 'uefi', mac: '52:54:00:6c:61:02' },
  { role: 'secureboot', firmware: 'uefi-secureboot', mac: '52:54:00:6c:61:03' },
];
/**
 * TCG on 2 shared cores, three VMs booting together: BIOS reaches run in about a minute, UEFI
 * through shim and grub (kernel and a 35 MB initrd over TFTP) in two or three.
 */
const BOOT_TIMEOUT_MS = 360_000;

export class Lab {
  private site: LabSite | null = null;
  private watch: LabWatch | null = null;
  private readonly vms = new Map<LabRole, LabVm>();
  private readonly names = new Map<LabRole, string>();
  private bmc: LabBmc | null = null;
  private readonly boots: LabBoot[] = [];

  constructor(private readonly o: LabOptions) {}

  async run(): Promise<LabReport> {
    const t0 = Date.now();
    const { log } = this.o;
    requireBuild();
    log('image: fetching the cloud kernel and building the initramfs (cached in .lab/)');
    const image = labImage();
    log(`image: ${image.summary}`);
    const imageDirs = [dirname(image.kernel), dirname(image.initrd)];

    const site = (this.site = await LabSite.open(log, this.o.verbose));
    const net = site.net;
    const build = { discoveryImage: 'lab', imageDirs };
    const dhcpMode = { mode: 'dhcp', ...SUBNET, pool: POOL, secureBoot: true, netns: net.server };
    const { controller, watch } = await site.startController(labControllerConfig(dhcpMode, build));
    this.watch = watch;
    log(`network: bridge br0 10.99.0.1/24 in namespace ${net.server}; muster's dnsmasq in dhcp mode with Secure Boot's signed chain`);
    const cli = controller.cli;
    await cli(['image', 'add', 'lab', '--kernel', image.kernel, '--initrd', image.initrd, '--cmdline', CMDLINE]);
    await cli(['naming', 'on', 'lab[1-3]']);

    await Promise.all(
      VMS.map(async ({ role, firmware, mac }, i) => {
        const dir = site.dir(role);
        this.vms.set(role, await LabVm.start({ name: role, mac, firmware, dir, netns: net.server, tap: net.tap(`tap${i}`) }));
      }),
    );
    const vm = (role: LabRole) => this.vms.get(role)!;
    this.bmc = await LabBmc.start(site.dir('secureboot-bmc'), vm('secureboot').qmpSocket);
    log(`vms: ${VMS.map((v) => `${v.role} ${vm(v.role).pty}`).join(', ')} (paused); the secureboot VM's BMC on udp/${this.bmc.port}`);
    const power: Record<LabRole, string> = { bios: `qemu://${vm('bios').qmpSocket}`, uefi: `qemu://${vm('uefi').qmpSocket}`, secureboot: this.bmc.target };

    // Unknown machines, all three: the discovery image, hello, and a name from the rule.
    for (const v of VMS) await vm(v.role).boot();
    log('boot: three unknown machines PXE-boot with sequential naming on (lab[1-3])');
    const helloOrder: LabRole[] = [];
    await Promise.all(
      VMS.map(async ({ role, mac }) => {
        const agentId = `mac-${mac.replaceAll(':', '')}`;
        const named = await watch.until(`the ${role} VM named by the naming rule`, BOOT_TIMEOUT_MS, () =>
          watch.events.find((e) => e.kind === 'assigned' && e.agentId === agentId && e.details.by === 'naming'),
        );
        const node = named.node!;
        this.names.set(role, node);
        helloOrder.push(role);
        await cli(['set', node, 'image=lab', `power=${power[role]}`, `console=serial:${vm(role).pty}`]);
        await cli(['build', node]);
        log(`identify: the ${role} VM is ${node}; power, console and image set, prepared to build`);
      }),
    );
    await cli(['naming', 'off']);
    const name = (role: LabRole) => this.names.get(role)!;

    await Promise.all(
      VMS.map(async ({ role }) => {
        const s = await watch.inPhase(name(role), 'run', BOOT_TIMEOUT_MS);
        this.recordBoot(role, 'first boot', vm(role).bootedAt, s.phaseSince);
      }),
    );

    // ---- faults -------------------------------------------------------------------------------
    const [bios, uefi, secureboot] = [name('bios'), name('uefi'), name('secureboot')];
    const before = { bios: watch.states.get(bios)!.bootId, secureboot: watch.states.get(secureboot)!.bootId };
    await cli(['offline', uefi, '--reason', 'lab: held for inspection']);
    await vm('uefi').freeze();
    log(`fault: ${uefi} (uefi) set admin-offline and frozen (QMP stop): muster must leave it alone`);
    const frozenAt = Date.now();
    await vm('bios').freeze();
    log(`fault: ${bios} (bios) frozen (QMP stop): heartbeats stop, its TCP connection stays open (no clean disconnect)`);
    await typeOnConsole(controller.mqttUrl, secureboot, 'echo c > /proc/sysrq-trigger\n');
    const panicAt = Date.now();
    log(`fault: ${secureboot} (secureboot): \`echo c > /proc/sysrq-trigger\` typed on its serial console`);

    const panicSeen = await watch.until(`a kernel-panic console event for ${secureboot}`, 60_000, () =>
      watch.events.find((e) => e.kind === 'console' && e.node === secureboot && e.details.pattern === 'kernel-panic'),
    );
    log(`seen: ${panicSeen.message}`);
    await Promise.all([this.corrected('bios', before.bios, frozenAt), this.corrected('secureboot', before.secureboot, panicAt)]);
    const biosDead = watch.eventsOf(bios, 'transition').find((e) => e.details.axis === 'liveness' && e.details.to === 'dead');
    log(`${bios} was found dead by: ${biosDead?.message ?? '?'}`);
    const offlineState = await watch.until(`${uefi} dead (silent while frozen)`, 60_000, () => (watch.states.get(uefi)?.liveness === 'dead' ? watch.states.get(uefi) : null));
    const offlineNodeHistory = expectCliJson('history', (await cli(['history', uefi, '--json'])).stdout);
    const offlineNodeStillFrozen = !(await vm('uefi').running());
    const offlineActions = watch.eventsOf(uefi, 'action');

    // ---- proxy mode ---------------------------------------------------------------------------
    const siteServer = site.own(await net.siteServer(site.tmp.dir));
    await controller.stop();
    const proxyMode = { mode: 'proxy', ...SUBNET, netns: net.server };
    const restarted = await site.startController(labControllerConfig(proxyMode, build));
    log('network: the controller restarted in proxy mode; a second dnsmasq (10.99.0.2) is the site DHCP server');
    const uefiBoot = watch.states.get(uefi)?.bootId ?? null;
    const cycleAt = Date.now();
    await restarted.controller.cli(['power', 'cycle', uefi]);
    log(`power: ${uefi} (uefi, still offline) power-cycled by hand`);
    const s = await restarted.watch.inPhase(uefi, 'run', BOOT_TIMEOUT_MS, uefiBoot);
    this.recordBoot('uefi', 'proxy mode', cycleAt, s.phaseSince);

    const nodes: LabReport['nodes'] = {};
    for (const { role } of VMS) {
      const node = name(role);
      const tail = await restarted.controller.cli(['console', node, '--tail', '3000']);
      nodes[node] = {
        state: role === 'uefi' ? offlineState : restarted.watch.states.get(node)!,
        actions: role === 'uefi' ? offlineActions : restarted.watch.eventsOf(node, 'action'),
        console: restarted.watch.eventsOf(node, 'console'),
        consoleTail: tail.stdout.split('\n'),
      };
    }
    const report: LabReport = {
      image: { initrd: image.initrd, bytes: image.initrdBytes, summary: image.summary },
      names: Object.fromEntries(this.names) as Record<LabRole, string>,
      helloOrder,
      boots: this.boots,
      nodes,
      bmcActions: this.bmc.actions(),
      offlineNodeHistory,
      offlineNodeStillFrozen,
      siteServerLog: siteServer.output(),
      wallSeconds: (Date.now() - t0) / 1000,
    };
    log(`lab: done in ${report.wallSeconds.toFixed(0)} s`);
    return report;
  }

  /** Waits for the policy's corrective action on the node to finish and the node to be back in run. */
  private async corrected(role: LabRole, oldBootId: string | null, faultAt: number): Promise<NodeState> {
    const watch = this.watch!;
    const node = this.names.get(role)!;
    const started = await watch.until(`a corrective action on ${node}`, 90_000, () =>
      watch.events.find((e) => e.kind === 'action' && e.node === node && e.details.state === 'started' && e.details.action !== 'console-tail' && e.at >= faultAt - 1000),
    );
    this.o.log(`action: ${started.message}`);
    const done = await watch.until(`${node}'s action to finish`, 120_000, () =>
      watch.events.find((e) => e.kind === 'action' && e.node === node && (e.details.state === 'done' || e.details.state === 'failed') && e.at >= started.at),
    );
    if (done.details.state !== 'done') throw new Error(`lab: ${node}: ${done.message}`);
    const s = await watch.inPhase(node, 'run', BOOT_TIMEOUT_MS, oldBootId);
    this.recordBoot(role, `${String(started.details.action)} (${String(started.details.policy)})`, started.at, s.phaseSince);
    return s;
  }

  /** A boot's time to run and where it went, from the node's boot events and serial port. */
  private recordBoot(role: LabRole, cause: string, from: number, runAt: number): void {
    const vm = this.vms.get(role)!;
    const node = this.names.get(role)!;
    const steps = this.watch!.events.filter((e) => e.kind === 'boot' && e.details.mac === vm.mac);
    const timeline = bootTimeline(from, runAt, steps, vm.serial);
    this.boots.push({ role, node, cause, timeline });
    this.o.log(`boot time: ${node} (${role}) ${cause}: ${timelineSummary(timeline)}`);
    this.o.log(`  ${timeline.marks.join(', ')}`);
  }

  /** Stops everything the lab started; safe to call twice. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.vms.values()].map((vm) => vm.stop()));
    this.vms.clear();
    await this.bmc?.stop();
    await this.site?.close();
    this.bmc = null;
    this.watch = null;
    this.site = null;
  }
}

/** Types `text` on a node's console through `muster console NODE` (piped stdin: sends, then detaches). */
async function typeOnConsole(mqttUrl: string, node: string, text: string): Promise<void> {
  const child = spawn(process.execPath, [musterBin, '--controller', mqttUrl, 'console', node], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  child.stdin.end(text);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`lab: muster console ${node} exited ${code}: ${stderr.trim()}`);
}
