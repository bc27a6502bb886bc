/**
 * What every lab scenario stands on: a Linux bridge in a network namespace (test/network/netns.ts),
 * the controller on 127.0.0.1 reached from the bridge at 10.99.0.1 through socat forwarders, and one
 * wire-level watch of its events across controller restarts. Scenarios add VMs (vm.ts) and
 * their story. Needs root (namespaces, taps, DHCP's port).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';
import type { Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { TestNetwork } from '../network/netns.js';
import { LabWatch } from './watch.js';

/** Where the VMs reach the controller: the bridge's address in the namespace, forwarded to 127.0.0.1. */
export const HTTP_PORT = 8080;
export const MQTT_PORT = 1883;
export const SUBNET = { interface: 'br0', subnet: '10.99.0.0/24', httpUrl: `http://10.99.0.1:${HTTP_PORT}` };
export const POOL = { start: '10.99.0.100', end: '10.99.0.199' };

/**
 * Policy timings short enough for a lab (see docs/state.md): heartbeats every second, dead after 6
 * missed (slack for a guest starved of CPU while others boot, and before the broker's keepalive
 * timeout — 7.5 s for the agent's 1 s interval — delivers the will), a short grace, and power-cycle as
 * the first corrective step; a corrected node gets 6 minutes to boot (a Secure Boot VM's TFTP boot
 * under load). The breaker keeps its thresholds; it waits 3 s instead of 10 s for a silence to
 * settle before an action. `awaitBoot` gives a node longer to be heard from after a power cycle
 * (FAI's first task report, which puts the node in phase build, comes minutes after the cycle under TCG).
 */
export function labControllerConfig(network: object, build: object, awaitBoot = '6m'): object {
  return {
    advertiseUrl: `mqtt://10.99.0.1:${MQTT_PORT}`,
    heartbeatIntervalS: 1,
    policies: {
      grace: '5s',
      heartbeat: { interval: '1s', suspectAfterMissed: 3, deadAfterMissed: 6 },
      consolePanic: { patterns: ['kernel-panic'] },
      ladder: { steps: ['power-cycle'], backoff: '10s', awaitBoot },
      breaker: { settle: '3s' },
    },
    build,
    network,
  };
}

export class LabSite {
  readonly tmp = tempDir('muster-lab-');
  readonly net: TestNetwork;
  controller: ControllerProc | null = null;
  watch: LabWatch | null = null;
  private readonly procs: Proc[] = [];
  private ports = { mqtt: 0, http: 0 };

  private constructor(private readonly log: (line: string) => void, private readonly verbose: boolean) {
    this.net = new TestNetwork();
  }

  static async open(log: (line: string) => void, verbose = false): Promise<LabSite> {
    if (process.getuid?.() !== 0) throw new Error('lab: needs root (network namespaces, tap devices, DHCP on port 67)');
    const site = new LabSite(log, verbose);
    try {
      site.ports = { mqtt: await freePort(), http: await freePort() };
      site.procs.push(...(await site.net.forward(HTTP_PORT, site.ports.http, site.tmp.dir)), ...(await site.net.forward(MQTT_PORT, site.ports.mqtt, site.tmp.dir)));
    } catch (err) {
      await site.close();
      throw err;
    }
    return site;
  }

  /** A controller on the lab's ports (the forwarders lead there), with its data kept across restarts. */
  async startController(config: object): Promise<{ controller: ControllerProc; watch: LabWatch }> {
    const file = join(this.tmp.dir, 'controller.json');
    writeFileSync(file, JSON.stringify(config, null, 2));
    const args = ['--config', file, '--mqtt-port', String(this.ports.mqtt), '--http-port', String(this.ports.http)];
    this.controller = await startControllerProc(args, { dataDir: join(this.tmp.dir, 'data') });
    this.log(`controller: ${this.controller.mqttUrl}, http ${this.controller.httpUrl}; guests reach them at 10.99.0.1:${MQTT_PORT} and :${HTTP_PORT}`);
    // One watch across restarts: it reconnects, and keeps the events of the whole lab.
    this.watch ??= await LabWatch.connect(this.controller.mqttUrl, (e) => {
      if (this.verbose) this.log(`  event ${e.kind}: ${e.message}`);
    });
    return { controller: this.controller, watch: this.watch };
  }

  /** A process the site stops when it closes. */
  own(proc: Proc): Proc {
    this.procs.push(proc);
    return proc;
  }

  dir(name: string): string {
    const dir = join(this.tmp.dir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Stops the watch, the controller and the site's processes, and removes the namespaces; safe to call twice. */
  async close(): Promise<void> {
    await this.watch?.close().catch(() => {});
    await this.controller?.stop();
    for (const p of this.procs.splice(0).reverse()) await p.stop();
    this.net.remove();
    this.watch = null;
    this.controller = null;
    this.tmp.remove();
  }
}
