/**
 * The virtual cluster lab: three qemu VMs PXE-boot muster's netboot image from a real
 * `muster controller`, and the whole loop is exercised and checked:
 *
 *   n1   predefined by MAC (`muster define`), power by QMP (`qemu://`)   → frozen: power-cycled, back to run
 *   n2   assigned by an admin (`muster assign`), power by QMP             → admin-offline and frozen: left alone
 *   lab3 named by the sequential naming rule, power by ipmi_sim (`ipmi://`) → kernel panic: seen on the console, corrected
 *
 * Each VM's console is its `-serial pty`, driven by the controller's serial console driver. Used by
 * test/e2e/lab.test.ts (in `npm test`) and by `npm run lab` (verbose, for people).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { musterBin, requireBuild, startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { tempDir } from '../helpers/tmp.js';
import type { Event, NodeState, Transition } from '../../shared/protocol.js';
import { LabBmc } from './bmc.js';
import { labImage } from './image.js';
import { LabVm } from './vm.js';
import { LabWatch } from './watch.js';

export interface LabOptions {
  /** Progress lines for people. */
  log: (line: string) => void;
  /** Also log every controller event as it arrives. */
  verbose?: boolean;
}

export interface LabBoot {
  node: string;
  /** `first boot` or the corrective action that rebooted it. */
  cause: string;
  /** From qemu running (or the action starting) to the node in `run`, as the controller saw it. */
  seconds: number;
}

export interface LabReport {
  image: { initrd: string; bytes: number; summary: string };
  boots: LabBoot[];
  /** Per node: the events the checks relied on, and the last console lines. */
  nodes: Record<string, { state: NodeState; actions: Event[]; console: Event[]; consoleTail: string[] }>;
  bmcActions: string[];
  /** n2's journal (`muster history n2`). */
  offlineNodeHistory: Transition[];
  /** n2 stayed frozen: nobody resumed or reset it. */
  offlineNodeStillFrozen: boolean;
  wallSeconds: number;
}

/** The image's own command line; netboot adds muster.controller= and BOOTIF=. */
const CMDLINE = 'console=ttyS0 muster.interval=1 muster.shell';
const MAC = { n1: '52:54:00:6c:61:01', n2: '52:54:00:6c:61:02', lab3: '52:54:00:6c:61:03' } as const;
/** TCG on 2 shared cores: a PXE boot takes ~15 s alone, several times that when VMs boot together under load. */
const BOOT_TIMEOUT_MS = 180_000;

/**
 * Policy timings short enough for a lab (see docs/state.md): heartbeats every second, dead after 6
 * missed (slack for a guest starved of CPU while others boot, and before the broker's keepalive
 * timeout — 7.5 s for the agent's 1 s interval — delivers the will), a short grace, and power-cycle as
 * the first corrective step so both drivers are exercised. The breaker keeps its thresholds (with
 * n2 offline at most 2 admin-online nodes go silent, under its minimum of 3); it waits 3 s instead
 * of 10 s for a silence to settle before an action.
 */
function controllerConfig(mqttPort: number, discoveryImage: string, imageDirs: string[]): string {
  return JSON.stringify(
    {
      advertiseUrl: `mqtt://10.0.2.2:${mqttPort}`,
      heartbeatIntervalS: 1,
      policies: {
        grace: '5s',
        heartbeat: { interval: '1s', suspectAfterMissed: 3, deadAfterMissed: 6 },
        consolePanic: { patterns: ['kernel-panic'] },
        ladder: { steps: ['power-cycle'], backoff: '10s', awaitBoot: '3m' },
        breaker: { settle: '3s' },
      },
      build: { discoveryImage, imageDirs },
    },
    null,
    2,
  );
}

export class Lab {
  private readonly tmp = tempDir('muster-lab-');
  private controller: ControllerProc | null = null;
  private watch: LabWatch | null = null;
  private readonly vms: LabVm[] = [];
  private bmc: LabBmc | null = null;
  private readonly boots: LabBoot[] = [];
  private httpPort = 0;

  constructor(private readonly o: LabOptions) {}

  async run(): Promise<LabReport> {
    const t0 = Date.now();
    const { log } = this.o;
    requireBuild();
    log('image: fetching the cloud kernel and building the initramfs (cached in .lab/)');
    const image = labImage();
    log(`image: ${image.summary}`);

    const { controller, watch } = await this.startController([dirname(image.kernel), dirname(image.initrd)]);
    const cli = controller.cli;
    await cli(['image', 'add', 'lab', '--kernel', image.kernel, '--initrd', image.initrd, '--cmdline', CMDLINE]);

    const [vm1, vm2, vm3] = await Promise.all(
      (['n1', 'n2', 'lab3'] as const).map((name) => LabVm.start({ name, mac: MAC[name], dir: this.dir(name), httpPort: this.httpPort })),
    );
    this.vms.push(vm1!, vm2!, vm3!);
    this.bmc = await LabBmc.start(this.dir('lab3-bmc'), vm3!.qmpSocket);
    log(`vms: n1 ${vm1!.pty}, n2 ${vm2!.pty}, lab3 ${vm3!.pty} (paused); lab3's BMC on udp/${this.bmc.port}`);

    // n1 is known before it boots: by MAC, with its image prepared. n2 is defined without hardware ids.
    await cli(['define', 'n1', `mac=${MAC.n1}`, 'image=lab', `power=qemu://${vm1!.qmpSocket}`, `console=serial:${vm1!.pty}`]);
    await cli(['build', 'n1']);
    await cli(['define', 'n2', 'image=lab', `power=qemu://${vm2!.qmpSocket}`, `console=serial:${vm2!.pty}`]);
    await vm1!.boot();
    await vm2!.boot();
    log('boot: n1 (defined by MAC) and an unknown machine PXE-boot');

    // The unknown machine boots the discovery image and is listed; an admin names it n2.
    const agent2 = `mac-${MAC.n2.replaceAll(':', '')}`;
    await watch.until(`agent ${agent2} discovered`, BOOT_TIMEOUT_MS, () => watch.events.find((e) => e.kind === 'discovered' && e.agentId === agent2));
    await cli(['assign', MAC.n2, 'n2']);
    log(`identify: ${agent2} assigned to n2 by an admin`);

    // The third machine is named by the sequential naming rule as it says hello.
    await cli(['naming', 'on', 'lab[3-9]']);
    await vm3!.boot();
    log('boot: a third unknown machine PXE-boots with sequential naming on (lab[3-9])');
    await watch.until('lab3 named by the naming rule', BOOT_TIMEOUT_MS, () => watch.events.find((e) => e.kind === 'assigned' && e.node === 'lab3'));
    await cli(['naming', 'off']);
    await cli(['set', 'lab3', 'image=lab', `power=${this.bmc.target}`, `console=serial:${vm3!.pty}`]);
    await cli(['build', 'lab3']);
    log('identify: lab3 named; its power goes through ipmi_sim, its console is attached now');

    for (const vm of this.vms) {
      const s = await watch.inPhase(vm.name, 'run', BOOT_TIMEOUT_MS);
      this.recordBoot(vm.name, 'first boot', vm.bootedAt, s.phaseSince);
    }
    // netboot releases a node once its build reaches run (the next boot would go to the local disk);
    // this image is diskless, so n1 is prepared again for the boot its correction will cause.
    await watch.until('n1 released by netboot', 60_000, () => watch.events.find((e) => e.kind === 'build' && e.node === 'n1' && e.details.state === 'done'));
    await cli(['build', 'n1']);

    // ---- faults -------------------------------------------------------------------------------
    const before = { n1: watch.states.get('n1')!.bootId, lab3: watch.states.get('lab3')!.bootId };
    await cli(['offline', 'n2', '--reason', 'lab: held for inspection']);
    await vm2!.freeze();
    log('fault: n2 set admin-offline and frozen (QMP stop): muster must leave it alone');
    const frozenAt = Date.now();
    await vm1!.freeze();
    log('fault: n1 frozen (QMP stop): heartbeats stop, its TCP connection stays open (no clean disconnect)');
    await typeOnConsole(controller.mqttUrl, 'lab3', 'echo c > /proc/sysrq-trigger\n');
    const panicAt = Date.now();
    log('fault: lab3: `echo c > /proc/sysrq-trigger` typed on its serial console');

    const panicSeen = await watch.until('a kernel-panic console event for lab3', 60_000, () =>
      watch.events.find((e) => e.kind === 'console' && e.node === 'lab3' && e.details.pattern === 'kernel-panic'),
    );
    log(`seen: ${panicSeen.message}`);
    const [n1Back, lab3Back] = await Promise.all([
      this.corrected('n1', before.n1, frozenAt),
      this.corrected('lab3', before.lab3, panicAt),
    ]);
    log(`corrected: n1 back in run (boot ${n1Back.bootId}), lab3 back in run (boot ${lab3Back.bootId})`);
    const n1Dead = watch.eventsOf('n1', 'transition').find((e) => e.details.axis === 'liveness' && e.details.to === 'dead');
    log(`n1 was found dead by: ${n1Dead?.message ?? '?'}`);
    const n2State = await watch.until('n2 dead (silent while frozen)', 60_000, () => (watch.states.get('n2')?.liveness === 'dead' ? watch.states.get('n2') : null));

    const n2History = JSON.parse((await cli(['history', 'n2', '--json'])).stdout) as Transition[];
    const nodes: LabReport['nodes'] = {};
    for (const node of ['n1', 'n2', 'lab3']) {
      const tail = await cli(['console', node, '--tail', '2000']);
      nodes[node] = {
        state: node === 'n2' ? n2State : watch.states.get(node)!,
        actions: watch.eventsOf(node, 'action'),
        console: watch.eventsOf(node, 'console'),
        consoleTail: tail.stdout.split('\n'),
      };
    }
    const report: LabReport = {
      image: { initrd: image.initrd, bytes: image.initrdBytes, summary: image.summary },
      boots: this.boots,
      nodes,
      bmcActions: this.bmc.actions(),
      offlineNodeHistory: n2History,
      offlineNodeStillFrozen: !(await vm2!.running()),
      wallSeconds: (Date.now() - t0) / 1000,
    };
    log(`lab: done in ${report.wallSeconds.toFixed(0)} s`);
    return report;
  }

  /** Waits for the policy's corrective action on `node` to finish and the node to be back in run. */
  private async corrected(node: string, oldBootId: string | null, faultAt: number): Promise<NodeState> {
    const watch = this.watch!;
    const started = await watch.until(`a corrective action on ${node}`, 90_000, () =>
      watch.events.find((e) => e.kind === 'action' && e.node === node && e.details.state === 'started' && e.details.action !== 'console-tail' && e.at >= faultAt - 1000),
    );
    this.o.log(`action: ${started.message}`);
    const done = await watch.until(`${node}'s action to finish`, 120_000, () =>
      watch.events.find((e) => e.kind === 'action' && e.node === node && (e.details.state === 'done' || e.details.state === 'failed') && e.at >= started.at),
    );
    if (done.details.state !== 'done') throw new Error(`lab: ${node}: ${done.message}`);
    const s = await watch.inPhase(node, 'run', BOOT_TIMEOUT_MS, oldBootId);
    this.recordBoot(node, `${String(started.details.action)} (${String(started.details.policy)})`, started.at, s.phaseSince);
    return s;
  }

  private recordBoot(node: string, cause: string, from: number, runAt: number): void {
    const seconds = Math.round((runAt - from) / 100) / 10;
    this.boots.push({ node, cause, seconds });
    this.o.log(`boot time: ${node} ${cause}: ${seconds} s to run`);
  }

  private async startController(imageDirs: string[]): Promise<{ controller: ControllerProc; watch: LabWatch }> {
    const mqttPort = await freePort();
    this.httpPort = await freePort();
    const config = join(this.tmp.dir, 'controller.json');
    writeFileSync(config, controllerConfig(mqttPort, 'lab', imageDirs));
    this.controller = await startControllerProc(['--config', config, '--mqtt-port', String(mqttPort), '--http-port', String(this.httpPort)], { dataDir: join(this.tmp.dir, 'data') });
    this.o.log(`controller: ${this.controller.mqttUrl}, http ${this.controller.httpUrl}; guests reach it at 10.0.2.2`);
    this.watch = await LabWatch.connect(this.controller.mqttUrl, (e) => {
      if (this.o.verbose) this.o.log(`  event ${e.kind}: ${e.message}`);
    });
    return { controller: this.controller, watch: this.watch };
  }

  private dir(name: string): string {
    return join(this.tmp.dir, name);
  }

  /** Stops everything the lab started; safe to call twice. */
  async close(): Promise<void> {
    await Promise.allSettled(this.vms.map((vm) => vm.stop()));
    this.vms.length = 0;
    await this.bmc?.stop();
    await this.watch?.close().catch(() => {});
    await this.controller?.stop();
    this.bmc = null;
    this.watch = null;
    this.controller = null;
    this.tmp.remove();
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
