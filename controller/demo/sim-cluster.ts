/**
 * `--demo N`: N simulated nodes that are real MQTT clients speaking the real protocol (the agent's
 * own link and message code), booting kernel → init → run on a timer. Their power is the `sim://`
 * plant: switching a node off ends its agent; on, reset or cycle boots it again with a new bootId.
 * Drills (`muster demo hang|panic|kill NODE`) make a node fail the way real ones do, so an admin
 * can watch muster detect and correct it.
 */
import { randomBytes } from 'node:crypto';
import type { AgentLink } from '../../agent/link.js';
import { parseControllerUrl, type ControllerAddress } from '../../agent/controller-url.js';
import { AgentMessages } from '../../agent/messages.js';
import type { Fingerprint } from '../../shared/protocol.js';
import type { DemoDrill } from '../../shared/verbs/args.js';
import { MusterError } from '../../shared/errors.js';
import type { Context, Extension } from '../context.js';
import { defaultSimPlant, type SimPowerPlant } from '../power/drivers/sim.js';

export interface SimClusterOptions {
  count: number;
  heartbeatMs: number;
  plant?: SimPowerPlant;
  /** Seconds spent in kernel and in init on each boot (a random value in the range). */
  kernelS?: [number, number];
  initS?: [number, number];
  /** A name whose node, on its first boot, hangs in `kernel` (to show the hung-node policy). */
  hangFirstBoot?: string;
  /** Where the nodes' simulated consoles live, to print boot text on each boot. */
  consoles?: { sim(node: string): { boot(): void; panic(): void } | undefined; sync(node: string): Promise<void> };
  /** The agents' bootstrap token: the controller's internal one (set at start). */
  token?: string;
}

export function simFingerprint(i: number): Fingerprint {
  const mac = `02:00:00:00:${hex2(i >> 8)}:${hex2(i)}`;
  return {
    nics: [{ name: 'eth0', mac, driver: 'virtio_net', link: 'up', speedMbps: 10000, virtual: false }],
    dmi: { vendor: 'muster', product: 'Simulated Node', serial: `SIM${String(i).padStart(6, '0')}`, uuid: null, biosVersion: '1.0', boardSerial: null },
    cpu: { model: 'Simulated CPU', count: 8 },
    memoryBytes: 32 * 2 ** 30,
    disks: [{ name: 'vda', model: 'SIMDISK', serial: `D${i}`, sizeBytes: 100e9 }],
    ib: [],
    bootMac: mac,
  };
}

const hex2 = (n: number) => (n & 0xff).toString(16).padStart(2, '0');
const between = ([lo, hi]: [number, number]) => (lo + Math.random() * (hi - lo)) * 1000;

/** One simulated machine: each boot is a new AgentLink with a new bootId. */
class SimNode {
  private link: AgentLink | null = null;
  private timers: NodeJS.Timeout[] = [];
  /** The secret the controller issued, kept across boots as an installed OS keeps it. */
  private secret: string | null = null;
  boots = 0;

  constructor(
    readonly name: string,
    private readonly fingerprint: Fingerprint,
    private readonly controllers: readonly ControllerAddress[],
    private readonly opts: SimClusterOptions,
    private readonly log: (line: string) => void,
    private readonly Link: typeof AgentLink,
  ) {}

  get agentId(): string {
    return `mac-${this.fingerprint.bootMac!.replace(/:/g, '')}`;
  }

  boot(): void {
    this.halt();
    this.boots++;
    const messages = new AgentMessages(
      { agentId: this.agentId, bootId: randomBytes(16).toString('hex'), agentVersion: 'sim', fingerprint: this.fingerprint },
      { now: Date.now, uptime: () => 0 },
    );
    const link = new this.Link({
      controllers: this.controllers,
      messages,
      phase: 'kernel',
      heartbeatMs: this.opts.heartbeatMs,
      token: this.opts.token,
      secret: this.secret,
      onSecret: (secret) => (this.secret = secret),
      log: (line) => this.log(`${this.name}: ${line}`),
    });
    this.link = link;
    link.start();
    this.opts.consoles?.sim(this.name)?.boot();
    if (this.boots === 1 && this.name === this.opts.hangFirstBoot) return; // stuck in kernel
    const toInit = between(this.opts.kernelS ?? [2, 5]);
    this.timers.push(setTimeout(() => link.setPhase('init'), toInit));
    this.timers.push(setTimeout(() => link.setPhase('run'), toInit + between(this.opts.initS ?? [2, 5])));
  }

  halt(): void {
    this.stopBooting();
    const link = this.link;
    this.link = null;
    void link?.stop();
  }

  /**
   * hang: no more heartbeats nor phases, the connection kept (a machine stopped like SIGSTOP);
   * panic: a kernel panic on the console, then the same silence; kill: the connection dies
   * without a goodbye (the broker sends the will). Power on, reset or cycle boots it again.
   */
  drill(drill: DemoDrill): void {
    this.stopBooting();
    if (drill === 'panic') this.opts.consoles?.sim(this.name)?.panic();
    if (drill === 'kill') {
      this.link?.die();
      this.link = null;
    } else {
      this.link?.hang();
    }
  }

  private stopBooting(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }
}

export class SimCluster implements Extension {
  readonly name = 'demo';
  private readonly nodes = new Map<string, SimNode>();
  private onPower = (node: string, state: string) => {
    const n = this.nodes.get(node);
    if (!n) return;
    if (state === 'off') n.halt();
    else n.boot();
  };

  constructor(private readonly opts: SimClusterOptions) {}

  async start(ctx: Context): Promise<void> {
    const plant = this.opts.plant ?? defaultSimPlant;
    const width = Math.max(2, String(this.opts.count).length);
    const now = ctx.now();
    const controllers = ctx.brokerUrls.map(parseControllerUrl);
    // Loaded here, not at the top: mqtt.js (with serialport, also loaded on use) was ~10 MB of an
    // empty controller's RSS, for nothing without --demo.
    const { AgentLink } = await import('../../agent/link.js');
    for (let i = 1; i <= this.opts.count; i++) {
      const name = `demo${String(i).padStart(width, '0')}`;
      const fp = simFingerprint(i);
      // Define the simulated rack once, like a site that loaded its spreadsheet of MACs.
      if (!ctx.nodes.get(name)) ctx.nodes.define(name, { groups: ['demo'], ids: { macs: [fp.bootMac!] }, power: 'sim://?state=on', console: 'sim://' }, now);
      await this.opts.consoles?.sync(name);
      this.nodes.set(name, new SimNode(name, fp, controllers, { ...this.opts, token: ctx.auth.internalAgentToken }, (line) => ctx.log.debug(line), AgentLink));
    }
    plant.on('change', this.onPower);
    for (const n of this.nodes.values()) {
      plant.init(n.name, 'on');
      n.boot();
    }
    ctx.log.info({ nodes: this.opts.count }, 'demo: simulated nodes booting');
  }

  /** Acts out a failure on a simulated node (SimNode.drill); refused for a node that is not one, or is off. */
  drill(node: string, drill: DemoDrill): void {
    const n = this.nodes.get(node);
    if (!n) throw new MusterError(`demo ${drill}: ${node} is not a simulated node (the demo's are ${this.range()})`, 'not-simulated');
    if ((this.opts.plant ?? defaultSimPlant).state(node) !== 'on') throw new MusterError(`demo ${drill}: ${node} is powered off (muster power on ${node})`, 'powered-off');
    n.drill(drill);
  }

  private range(): string {
    const names = [...this.nodes.keys()];
    return names.length > 1 ? `${names[0]}…${names.at(-1)}` : (names[0] ?? 'none');
  }

  async stop(): Promise<void> {
    (this.opts.plant ?? defaultSimPlant).off('change', this.onPower);
    for (const n of this.nodes.values()) n.halt();
  }
}
