import { createReadStream } from 'node:fs';
import { userInfo } from 'node:os';
import { mkdir, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { DEFAULT_ROTATION, RotatingLog } from '../console/log-file.js';
import type { Context, Extension } from '../context.js';
import type { EventOwner } from '../events.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import type { DhcpConfig } from '../../shared/verbs/results.js';
import type { NetworkConfig } from './config.js';
import { GRUB_CONFIG, LOADERS, SIGNED_CHAIN, renderDhcpHosts, renderDnsmasqConfig, type DnsmasqFiles } from './dnsmasq-config.js';
import { BOOTING_STEPS, BootStepReader, parseDnsmasqLine, type BootStep } from './dnsmasq-log.js';
import { DnsmasqProcess } from './dnsmasq-process.js';
import { readLeases, type Lease } from './leases.js';
import { checkLoaders, type LoaderReport } from './loaders.js';
import { interfaceAddress, tftpRead } from './tftp-probe.js';
import type { TftpFacts } from '../doctor/checks.js';
import { fillTftpRoot, writeGrubBoot, type GrubScripts } from './tftp-root.js';
import { BootJournal } from './boot-journal.js';
import { httpBootStep } from './http-steps.js';

/**
 * The provisioning network (docs/network.md): muster's own dnsmasq for DHCP or proxy-DHCP and TFTP,
 * configured from the `network:` section and the node table. Node changes rewrite the hosts file
 * and SIGHUP dnsmasq; its log becomes `boot` events per node, so an admin sees where a boot stopped.
 */
export class ProvisioningNetwork implements Extension {
  readonly name = 'network';
  private ctx!: Context;
  private net!: NetworkConfig;
  private files!: DnsmasqFiles & { dir: string; config: string; log: string };
  private process: DnsmasqProcess | null = null;
  private rawLog: RotatingLog | null = null;
  private readonly steps = new BootStepReader();
  private readonly bootJournal = new BootJournal();
  private configText = '';
  private hostsText = '';
  /** A hosts rewrite is running; `hostsStale`: the nodes changed again meanwhile. */
  private hostsWriting: Promise<void> | null = null;
  private hostsStale = false;
  private problems = new Set<string>();
  private macIndex: { version: number; map: Map<string, string> } = { version: -1, map: new Map() };
  private events: EventOwner | null = null;

  /** `grubScripts`: the build layer, which renders the scripts of machines handed shim (Secure Boot). */
  constructor(private readonly grubScripts: GrubScripts | null = null) {}

  async start(ctx: Context): Promise<void> {
    this.ctx = ctx;
    this.net = ctx.config.network!;
    const dir = resolve(ctx.config.dataDir, 'network');
    this.files = { dir, config: join(dir, 'dnsmasq.conf'), hostsFile: join(dir, 'dhcp-hosts'), leaseFile: join(dir, 'leases'), log: join(dir, 'dnsmasq.log'), tftpDir: join(dir, 'tftp'), user: userInfo().username };
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (this.net.secureBoot) {
      for (const m of await fillTftpRoot(this.net, this.files.tftpDir)) ctx.log.error(`network: Secure Boot: ${m}`);
    }
    this.configText = renderDnsmasqConfig(this.net, this.files);
    await writeFileAtomic(this.files.config, this.configText);
    await this.writeHosts();
    ctx.provisioningHttp.mount((req, res) => this.serveLoader(req, res));
    // Sees the boot scripts and image files asked for (netboot, mounted after it, answers).
    ctx.provisioningHttp.mount((req) => {
      const step = httpBootStep(req.method, req.url ?? '', req.socket.remoteAddress, (ip) => this.steps.macOf(ip));
      if (step) this.publish(step);
      return false;
    });
    this.rawLog = new RotatingLog(this.files.log, DEFAULT_ROTATION, (err) => ctx.log.error({ err: err.message }, 'network: dnsmasq log write failed'));
    const dnsmasq = [this.net.dnsmasq, '--keep-in-foreground', `--conf-file=${this.files.config}`];
    this.process = new DnsmasqProcess({
      argv: this.net.netns ? ['ip', 'netns', 'exec', this.net.netns, ...dnsmasq] : dnsmasq,
      onLine: (line) => this.onLine(line),
      onExit: (reason, retryInMs) => ctx.log.error({ reason, retryInMs }, `network: dnsmasq stopped (${reason}); starting it again in ${retryInMs} ms`),
    });
    this.process.start();
    this.events = ctx.events.owner(this.name);
    this.events.on('node:changed', () => {
      this.nodesChanged();
      this.bootJournal.retain((n) => ctx.nodes.get(n) !== undefined);
    });
    ctx.log.info({ mode: this.net.mode, interface: this.net.interface, config: this.files.config }, 'network: dnsmasq started');
  }

  async stop(): Promise<void> {
    this.events?.off();
    await this.process?.stop();
    await this.hostsWriting;
    await this.rawLog?.close();
  }

  /** What dnsmasq runs with: its main config and its hosts file, as written, and grub.cfg under Secure Boot. */
  renderedConfig(): DhcpConfig {
    const secure = this.net.secureBoot;
    const files = { config: this.files.config, hosts: this.files.hostsFile, leases: this.files.leaseFile, grub: secure ? join(this.files.tftpDir, SIGNED_CHAIN.config) : null };
    return { config: this.configText, hosts: this.hostsText, grub: secure ? GRUB_CONFIG : null, files };
  }

  /** dnsmasq's current leases, each with the node its MAC belongs to. */
  leases(): Promise<Lease[]> {
    return readLeases(this.files.leaseFile, (mac) => this.nodeByMac(mac));
  }

  /** For `muster doctor`: the supervised dnsmasq's pid (null while it is not running). */
  dnsmasq(): { interface: string; pid: number | null } {
    return { interface: this.net.interface, pid: this.process?.pid ?? null };
  }

  /** For `muster doctor`: a TFTP read of the BIOS loader on the interface's address, where dnsmasq listens. */
  async probeTftp(): Promise<TftpFacts> {
    const file = LOADERS.bios;
    const address = await interfaceAddress(this.net.interface, this.net.netns);
    if (!address) return { file, address, outcome: { ok: false, error: `interface ${this.net.interface} has no IPv4 address${this.net.netns ? ` in namespace ${this.net.netns}` : ''}` } };
    return { file, address, outcome: await tftpRead(address, file, { netns: this.net.netns }) };
  }

  /** For `muster doctor`: the loaders in the TFTP root, checked against Debian's ipxe package. */
  checkLoaders(): Promise<LoaderReport> {
    return checkLoaders(this.net.tftpRoot);
  }

  /** Coalesces bursts (a `define` of many nodes): one rewrite runs, and one more after it if needed. */
  private nodesChanged(): void {
    if (this.hostsWriting) {
      this.hostsStale = true;
      return;
    }
    this.hostsWriting = (async () => {
      do {
        this.hostsStale = false;
        const before = this.hostsText;
        await this.writeHosts().catch((err: Error) => this.ctx.log.error({ err: err.message }, 'network: hosts file write failed; dnsmasq keeps the previous one'));
        if (this.hostsText !== before && !this.process?.reload()) this.ctx.log.warn('network: dnsmasq is not running; it reads the new hosts file when it starts');
      } while (this.hostsStale);
      this.hostsWriting = null;
    })();
  }

  private async writeHosts(): Promise<void> {
    const { nodes } = this.ctx;
    const defs = nodes.names().map((n) => nodes.get(n)!);
    const { text, problems } = renderDhcpHosts(this.net, defs.map((d) => ({ name: d.name, macs: d.ids.macs, interfaces: d.interfaces })));
    // Each conflict once while it lasts, not again on every node change.
    for (const p of problems) if (!this.problems.has(p)) this.ctx.log.warn(`network: ${p}`);
    this.problems = new Set(problems);
    if (text === this.hostsText) return;
    await writeFileAtomic(this.files.hostsFile, text);
    this.hostsText = text;
  }

  private onLine(line: string): void {
    this.rawLog?.append(`${new Date(this.ctx.now()).toISOString()} ${line}`);
    const parsed = parseDnsmasqLine(line);
    if (!parsed) return;
    if (parsed.kind === 'notice') {
      if (parsed.problem) this.ctx.log.warn(`network: dnsmasq: ${parsed.text}`);
      else this.ctx.log.debug(`network: dnsmasq: ${parsed.text}`);
      return;
    }
    const step = this.steps.read(parsed);
    if (step) {
      this.publish(step);
      if (step.step === 'boot-file' && step.details.file === SIGNED_CHAIN.shim) void this.prepareGrubBoot(step.mac);
    } else if (parsed.kind === 'tftp-failed') {
      // A failure no machine can be named for (a file dnsmasq cannot read) is still the admin's to see.
      this.ctx.log.warn(`network: dnsmasq: ${parsed.text}`);
    }
  }

  /**
   * A machine was handed shim: its grub script goes where grub looks for it (over TFTP) before grub
   * gets there, a few seconds later. Rendering it counts as the machine fetching its build.
   */
  private async prepareGrubBoot(mac: string): Promise<void> {
    try {
      if (!this.grubScripts) throw new Error('no build layer renders grub scripts');
      await writeGrubBoot(this.files.tftpDir, mac, await this.grubScripts.grubBoot(mac));
    } catch (err) {
      this.ctx.log.error({ mac, err: (err as Error).message }, `network: the grub script of ${mac} cannot be written: ${(err as Error).message}`);
    }
  }

  /**
   * A boot event for everyone watching; for a defined node also a journal line, within its budget,
   * and for a step only a booting machine takes, muster's evidence that the node booted. A boot
   * script names its MAC in the URL, which anyone may ask for: it counts only from the address
   * dnsmasq gave that MAC.
   */
  private publish(step: BootStep): void {
    const node = this.nodeByMac(step.mac);
    const who = node ?? `unknown machine ${step.mac}`;
    const line = node ? this.bootJournal.record(node, step, this.ctx.now()) : null;
    if (line) this.ctx.journal.append(line);
    const fromItsAddress = step.step !== 'script' || (step.ip !== null && this.steps.macOf(step.ip) === step.mac);
    if (node && BOOTING_STEPS.has(step.step) && fromItsAddress) this.ctx.events.emit('node:booting', { node, what: `${step.message} (${step.mac})`, at: this.ctx.now() });
    this.ctx.publishEvent({
      kind: 'boot',
      node,
      agentId: node ? (this.ctx.nodes.get(node)?.agentId ?? null) : null,
      message: `${who}: ${step.message}`,
      details: { mac: step.mac, ip: step.ip, step: step.step, ...step.details },
    });
  }

  /** Every MAC a definition names (hardware ids and interfaces), rebuilt when the definitions change. */
  private nodeByMac(mac: string): string | null {
    const { nodes } = this.ctx;
    if (this.macIndex.version !== nodes.version) {
      const map = new Map<string, string>();
      for (const name of nodes.names()) {
        const def = nodes.get(name)!;
        for (const m of [...def.ids.macs, ...def.interfaces.flatMap((i) => (i.mac ? [i.mac] : []))]) if (!map.has(m)) map.set(m, name);
      }
      this.macIndex = { version: nodes.version, map };
    }
    return this.macIndex.map.get(mac) ?? null;
  }

  /** GET /loaders/<file>: the loaders UEFI HTTP boot fetches (the same files TFTP serves). */
  private serveLoader(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '').split('?')[0]!;
    if (!path.startsWith('/loaders/')) return false;
    const name = path.slice('/loaders/'.length);
    if (!(Object.values(LOADERS) as string[]).includes(name)) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`no loader ${JSON.stringify(name.slice(0, 100))}: known are ${Object.values(LOADERS).join(', ')}\n`);
      return true;
    }
    const file = join(this.net.tftpRoot, name);
    void stat(file).then(
      (st) => {
        res.writeHead(200, { 'Content-Type': 'application/efi', 'Content-Length': st.size });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).on('error', () => res.destroy()).pipe(res);
      },
      (err: Error) => {
        this.ctx.log.warn(`network: loader ${file} cannot be served: ${err.message}`);
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`loader ${name} is missing on the controller (install Debian's ipxe package)\n`);
      },
    );
    return true;
  }
}

/** dnsmasq drops root for an unprivileged user, which must still reach the hosts file when it re-reads it. */
