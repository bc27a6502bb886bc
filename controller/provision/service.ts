import { join } from 'node:path';
import { z } from 'zod';
import { describeZodError, type Hello } from '../../shared/protocol.js';
import type { Context, Extension } from '../context.js';
import type { EventOwner } from '../events.js';
import { createCommandBuildSystem } from './command/command.js';
import { FaiSection, openFaiBuildSystem, type FaiBuildSystem } from './fai/fai.js';
import { createNetbootHttpHandler, type ScriptSource } from './netboot/http.js';
import { NetbootBuildSystem } from './netboot/netboot.js';
import { BuildRegistry, BuildSelection, buildSystemFor } from './registry.js';
import { BuildError, canAddImages, isBuildError, type BuildImage, type BuildStatus, type BuildSystem, type ImageFiles } from './types.js';
import { SettingError } from '../nodes/settings.js';
import { projectRoot } from '../paths.js';
import { AllowedPrograms } from '../process/allowed-programs.js';
import type { OsImageInputs } from '../../shared/verbs/args.js';
import type { BuildLatest } from '../../shared/verbs/results.js';
import { buildOsImage, type OsImageManifest } from './os-image.js';
import type { PowerService } from '../power/service.js';
import type { BootMode } from '../power/driver.js';

/** mmdebstrap with a slow mirror on a loaded machine: minutes, not hours. */
const IMAGE_BUILD_TIMEOUT_MS = 60 * 60_000;

/** What boot/build-os-image.sh puts into an image besides the agent (paths under boot/). */
const IMAGE_FILES = [
  'systemd/muster-agent.service', 'systemd/muster-agent-run.service', 'systemd/muster-agent-start.sh', 'systemd/muster-network.service',
  'initramfs/init', 'initramfs/udhcpc.script', 'build-initramfs.sh', 'build-disk-image.sh',
];

/** The `build:` section of the controller config. */
export const BuildConfigSection = BuildSelection.extend({
  /** Image booted by machines nobody knows yet (it runs the agent). */
  discoveryImage: z.string().optional(),
  /** Directories netboot image files (kernels, initrds) must be in; default: DATA/images. */
  imageDirs: z.array(z.string().min(1)).min(1).optional(),
  /** External provisioning tools, each registered under its name (see docs/build-systems.md); each executable in commands.allowedDirs. */
  commands: z.array(z.object({ name: z.string().min(1), executable: z.string().min(1), args: z.array(z.string()).optional(), timeoutMs: z.number().int().positive().optional() })).default([]),
  /** Debian's FAI behind muster (see docs/build-systems.md); fai-chboot and fai-monitor in commands.allowedDirs. */
  fai: FaiSection.optional(),
  /** Hand newly identified nodes with an image to their build: every node (true) or those in these groups. */
  auto: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
  /** Where `muster image build` caches its images (default: <dataDir>/images). */
  imageDir: z.string().min(1).optional(),
}).strict();

/**
 * The build layer in the controller: the registry of build systems (netboot and disk always, command
 * tools and FAI from the config), the netboot HTTP routes, and the hand-off: a node newly bound to an agent, in a
 * `build.auto` group, with an image set and nothing arranged in its build system, is prepared and
 * power-cycled into its build; `muster build` prepares on demand; a prepared node whose own agent
 * reports from a network boot begun after that is building; a building node that reaches `run` is
 * released.
 */
export class BuildService implements Extension {
  readonly name = 'build';
  private ctx!: Context;
  private registry!: BuildRegistry;
  private selection!: BuildSelection;
  private netboot!: NetbootBuildSystem;
  private disk!: NetbootBuildSystem;
  private fai: FaiBuildSystem | null = null;
  private macIndex: { version: number; map: Map<string, string> } = { version: -1, map: new Map() };
  private events!: EventOwner;
  private auto: boolean | readonly string[] = false;
  private readonly latestByNode = new Map<string, BuildLatest>();
  private imageDir = '';

  constructor(private readonly power: PowerService) {}

  async start(ctx: Context): Promise<void> {
    this.ctx = ctx;
    const parsed = BuildConfigSection.safeParse(ctx.config.build ?? {});
    if (!parsed.success) throw new Error(`config build: ${describeZodError(parsed.error)}`);
    const cfg = parsed.data;
    this.imageDir = cfg.imageDir ?? join(ctx.config.dataDir, 'images');
    const http = {
      dataDir: ctx.config.dataDir,
      // Several brokers: the agent's list, separated by commas (agent/controller-url.ts).
      controllerUrl: ctx.config.advertiseUrl ?? ctx.brokerUrls.join(','),
      // What `muster image build` writes is always allowed: the controller made it.
      imageDirs: [...new Set([...(cfg.imageDirs ?? [join(ctx.config.dataDir, 'images')]), this.imageDir])],
      now: ctx.now,
    };
    this.netboot = await NetbootBuildSystem.open({ ...http, discoveryImage: cfg.discoveryImage });
    this.disk = await NetbootBuildSystem.open({ ...http, name: 'disk', installsDisk: true });
    const programs = new AllowedPrograms(ctx.config.commands.allowedDirs);
    const tools = await Promise.all(
      cfg.commands.map(async (c) => {
        const executable = await programs.resolve(c.executable).catch((err: Error) => {
          throw new Error(`config build.commands ${c.name}: ${err.message}`);
        });
        return createCommandBuildSystem({ ...c, executable });
      }),
    );
    this.fai = cfg.fai ? await this.openFai(cfg.fai, programs) : null;
    this.registry = new BuildRegistry([this.netboot, this.disk, ...tools, ...(this.fai ? [this.fai] : [])]);
    this.selection = { default: cfg.default ?? 'netboot', groups: cfg.groups };
    this.auto = cfg.auto;
    try {
      this.registry.check(this.selection);
    } catch (err) {
      // fai runs fai-monitor from open(): a refused config must not leave it behind.
      await Promise.all(this.registry.all().map((s) => s.close()));
      throw err;
    }
    ctx.provisioningHttp.mount(
      createNetbootHttpHandler({
        netboot: this.netboot,
        others: [this.disk],
        scriptSystem: (node) => this.scriptSystem(node),
        nodeByMac: (mac) => this.nodeByMac(mac),
        log: (m) => ctx.log.warn(m),
        onReport: (node, outcome, detail) => {
          const system = this.disk.name;
          if (outcome === 'progress') this.told(node, null, `${node} build ${detail}`, { system, state: 'building', progress: detail });
          else this.told(node, null, `${node} build ${outcome}: ${detail}`, { system, state: outcome, detail });
          if (outcome === 'done') ctx.events.emit('node:booting', { node, what: 'its installer wrote its disk and reboots into it', at: ctx.now() });
        },
      }),
    );
    this.events = ctx.events.owner(this.name);
    this.events.on('node:bound', ({ node, agentId, hello, at, newBinding }) => {
      if (hello) void this.buildStartedIfBooted(node, agentId, hello, at);
      // A machine just identified, running muster's boot image (phase kernel), not its installed OS.
      if (newBinding && hello?.phase === 'kernel' && ctx.nodes.get(node)?.image && this.autoBuilds(node)) void this.handOff(node, hello.fingerprint.firmware?.bootMode ?? null);
    });
    // A node defined again under the same name starts without the old one's build word.
    this.events.on('node:changed', ({ node, change }) => {
      if (change === 'removed') this.latestByNode.delete(node);
    });
    this.events.on('node:transition', (t) => {
      if (t.axis === 'phase' && t.to === 'run') void this.releaseIfBuilding(t.node);
    });
  }

  /** FAI's tools resolved like any configured program; the node's MACs from its discovered hardware ids. */
  private async openFai(section: FaiSection, programs: AllowedPrograms): Promise<FaiBuildSystem> {
    const resolve = (what: 'chboot' | 'monitor') =>
      programs.resolve(section[what]).catch((err: Error) => {
        throw new Error(`config build.fai.${what}: ${err.message}`);
      });
    // One after the other: with both outside commands.allowedDirs, the error names chboot every time.
    const chboot = await resolve('chboot');
    const monitor = await resolve('monitor');
    return openFaiBuildSystem({
      ...section,
      chboot,
      monitor,
      macsOf: (node) => this.ctx.nodes.get(node)?.ids.macs ?? [],
      now: this.ctx.now,
      onChange: (node, state, detail) => {
        this.told(node, null, `${node} build ${state}: ${detail}`, { system: section.name, state, ...(state === 'building' ? { progress: detail } : { detail }) });
        if (state === 'building') this.ctx.events.emit('build:installing', { node, system: section.name, detail, at: this.ctx.now() });
        // FAI reboots the node into its installed disk (FAI_FLAGS reboot): a boot muster knows of.
        if (state === 'done') this.ctx.events.emit('node:booting', { node, what: 'FAI installed its disk and it reboots into it', at: this.ctx.now() });
      },
    });
  }

  async stop(): Promise<void> {
    this.events.off();
    await Promise.all(this.registry.all().map((s) => s.close()));
  }

  systemFor(node: string): BuildSystem {
    return buildSystemFor(node, this.ctx.nodes.get(node)?.groups ?? [], this.selection, this.registry);
  }

  /**
   * Where a node's machine gets its boot script: its own system when that serves scripts (disk;
   * fai while it has the node's install prepared and a bootUrl), else netboot (local disk unless
   * netboot has it).
   */
  private scriptSystem(node: string): ScriptSource {
    let system: BuildSystem;
    try {
      system = this.systemFor(node);
    } catch {
      return this.netboot;
    }
    if (system === this.disk) return this.disk;
    const fai = this.fai;
    if (system !== fai || !fai) return this.netboot;
    return { urlPrefix: this.netboot.urlPrefix, bootScript: async (mac, name, baseUrl) => (name && fai.chainScript(name, mac)) ?? this.netboot.bootScript(mac, name, baseUrl) };
  }

  async images(): Promise<Array<BuildImage & { system: string }>> {
    const lists = await Promise.all(this.registry.all().map(async (s) => (await s.images()).map((i) => ({ ...i, system: s.name }))));
    return lists.flat();
  }

  /** The netboot catalog's files against their recorded checksums (`muster doctor`). */
  verifyImages(): ReturnType<NetbootBuildSystem['verifyImages']> {
    return this.netboot.verifyImages();
  }

  async addImage(name: string, files: ImageFiles, replace: boolean, system = 'netboot'): Promise<BuildImage> {
    const s = this.registry.get(system);
    if (!canAddImages(s)) throw new BuildError('bad-config', null, `build system ${system} keeps its own images: add them with its own tool`);
    return s.addImage(name, files, { replace });
  }

  /**
   * The Secure Boot chain's script for a machine (grub, from the netboot catalog and the node's
   * build state, as iPXE's script is), and every netboot image's files, which grub reads over TFTP.
   */
  async grubBoot(mac: string): Promise<{ script: string; images: Array<{ name: string; kernel: string; initrd: string }> }> {
    const node = this.nodeByMac(mac)?.name ?? null;
    const script = await this.netboot.bootScript(mac, node, '', 'grub');
    // dnsmasq handed this MAC shim: its own DHCP exchange, which (unlike a script fetch) starts its build.
    if (node) await this.buildStartedBy(this.netboot, node, `dnsmasq handed ${mac} the Secure Boot chain`);
    const images = (await this.netboot.images()).map((i) => this.netboot.image(i.name)!);
    return { script, images: images.map((i) => ({ name: i.name, kernel: i.kernel.path, initrd: i.initrd.path })) };
  }

  /**
   * `muster image build`: a Debian image, from the cache when built before with the same inputs,
   * added under `name` (replacing it) to the netboot catalog as a diskless image (RAM boot) and to
   * the disk catalog as its disk image with muster's installer.
   */
  async buildImage(name: string, inputs: OsImageInputs, by: string): Promise<{ image: BuildImage; diskImage: BuildImage; manifest: OsImageManifest; cached: boolean }> {
    const { ctx } = this;
    const root = projectRoot();
    const progress = (line: string) => {
      ctx.log.info({ image: name, line }, 'image build');
      ctx.publishEvent({ kind: 'build', node: null, agentId: null, message: `image ${name}: ${line}`, details: { image: name, progress: line, by } });
    };
    const { cached, ...manifest } = await buildOsImage({ script: join(root, 'boot', 'build-os-image.sh'), agent: join(root, 'dist', 'agent.js'), extraFiles: [...IMAGE_FILES.map((f) => join(root, 'boot', f)), join(root, 'dist', 'agent-network.js')], imageDir: this.imageDir, now: ctx.now }, inputs, { signal: AbortSignal.timeout(IMAGE_BUILD_TIMEOUT_MS), onProgress: progress });
    progress(cached ? `cached ${manifest.key}` : `built ${manifest.key} in ${(manifest.buildMs / 1000).toFixed(1)} s`);
    const image = await this.addImage(name, { kernel: manifest.kernel.path, initrd: manifest.root.path, cmdline: 'console=ttyS0', diskless: true }, true);
    const diskImage = await this.addImage(name, { kernel: manifest.kernel.path, initrd: manifest.installer.path, disk: manifest.disk.path, cmdline: 'console=ttyS0' }, true, 'disk');
    return { image, diskImage, manifest, cached };
  }

  /** configure + prepare each node; results per node, one failure never stops the others. */
  async build(nodes: readonly string[], by: string): Promise<Array<{ node: string; ok: boolean; system?: string; error?: string }>> {
    const { ctx } = this;
    return Promise.all(
      nodes.map(async (node) => {
        const def = ctx.nodes.get(node);
        try {
          if (!def) throw new Error(`node ${node} is not defined`);
          if (!def.image) throw new Error(`node ${node} has no image (muster set ${node} image=NAME)`);
          const system = this.systemFor(node);
          await system.configure(node, { image: def.image, tags: def.tags, interfaces: def.interfaces, ...(def.disk && { disk: def.disk }) });
          await system.prepare(node);
          this.told(node, def.agentId, `${node} prepared to build image ${def.image} with ${system.name} (${by})`, { system: system.name, state: 'prepared', image: def.image, by });
          return { node, ok: true, system: system.name };
        } catch (err) {
          const error = (err as Error).message;
          this.told(node, def?.agentId ?? null, `${node} build not prepared: ${error}`, { state: 'failed', error, by });
          return { node, ok: false, error };
        }
      }),
    );
  }

  async status(node: string): Promise<BuildStatus & { system: string }> {
    const system = this.systemFor(node);
    return { ...(await system.status(node)), system: system.name };
  }

  private async releaseIfBuilding(node: string): Promise<void> {
    try {
      const system = this.systemFor(node);
      const s = await system.status(node);
      if (s.state !== 'building' && s.state !== 'prepared') return;
      if (s.state === 'prepared') return; // it came up without fetching its build: still to be built
      await system.release(node);
      this.told(node, null, `${node} built and running: released to boot normally`, { system: system.name, state: 'done' });
    } catch (err) {
      // Not configured in its build system: nothing to release.
      if (isBuildError(err, 'unknown-node')) return;
      this.ctx.log.warn({ node, err: (err as Error).message }, 'build: releasing a node that runs failed; it may build again on its next network boot');
    }
  }

  /**
   * A node's own agent says hello from a network boot (BOOTIF= on its command line, which muster's
   * boot scripts put there) that began after the node was prepared: netboot's build started. The
   * boot script's fetch says nothing: anyone may fetch any MAC's.
   */
  private async buildStartedIfBooted(node: string, agentId: string, hello: Hello, at: number): Promise<void> {
    if (hello.fingerprint.bootMac === null) return;
    try {
      const system = [this.netboot, this.disk].find((s) => s === this.systemFor(node));
      if (!system) return;
      await this.buildStartedBy(system, node, `its agent ${agentId} booted from the network (${hello.fingerprint.bootMac})`, at - hello.uptime * 1000, agentId);
    } catch (err) {
      this.ctx.log.warn({ node, err: (err as Error).message }, 'build: recording that a node booted its build failed');
    }
  }

  /** Moves a prepared netboot node to building (a boot that began at `bootedAt`, after its prepare) and says so. */
  private async buildStartedBy(system: NetbootBuildSystem, node: string, detail: string, bootedAt = this.ctx.now(), agentId: string | null = null): Promise<void> {
    if (!(await system.buildStarted(node, bootedAt, detail))) return;
    this.told(node, agentId, `${node} building: ${detail}`, { system: system.name, state: 'building', detail });
  }

  /** The last word of each node's build (`45% writing image to /dev/vda`), for `nodes` and `show`; null when none since the controller started. */
  latest(node: string): BuildLatest | null {
    return this.latestByNode.get(node) ?? null;
  }

  /** A node's build moved (prepared, building, done, failed): its `build` event, and its latest word. */
  private told(node: string, agentId: string | null, message: string, details: { state: BuildLatest['state']; system?: string; progress?: string; detail?: string; error?: string } & Record<string, unknown>): void {
    this.latestByNode.set(node, { system: details.system ?? null, state: details.state, detail: details.progress ?? details.detail ?? details.error ?? message, at: this.ctx.now() });
    this.ctx.publishEvent({ kind: 'build', node, agentId, message, details });
  }

  private autoBuilds(node: string): boolean {
    if (typeof this.auto === 'boolean') return this.auto;
    const groups = this.ctx.nodes.get(node)?.groups ?? [];
    return this.auto.some((g) => groups.includes(g));
  }

  /**
   * Prepare a newly identified node and power-cycle it into its build, unless its build system
   * already has it arranged or built. Its BMC is first told to boot it from the network once
   * (UEFI or legacy as `bootMode`, how the machine booted muster's image), so a node whose boot
   * order puts its disk first still reaches its build.
   */
  private async handOff(node: string, bootMode: BootMode | null): Promise<void> {
    const { ctx } = this;
    const state = await this.systemFor(node)
      .status(node)
      .then((s) => s.state)
      .catch(() => 'idle');
    if (state !== 'idle') {
      ctx.publishEvent({ kind: 'build', node, agentId: null, message: `${node} identified: not handed to its build, which is ${state}`, details: { state, by: 'identified' } });
      return;
    }
    if (ctx.config.dryRun) {
      ctx.publishEvent({ kind: 'build', node, agentId: null, message: `${node} identified: would prepare its build and power-cycle it (dry run)`, details: { state, by: 'identified', dryRun: true } });
      return;
    }
    const [result] = await this.build([node], 'identified');
    if (!result?.ok) return;
    await this.power.netbootOnce(node, bootMode, 'build hand-off');
    // Journalled on the action axis like an admin's, and marks the node: its power-off is no failure.
    await this.power.run('cycle', [node], { by: 'build hand-off', user: 'build hand-off' });
  }

  /** Refuse `image=` naming an image that the build system of one of `nodes` (in `groups`, when given) does not have, naming the ones it has. */
  async checkImage(nodes: readonly string[], image: string, groups?: readonly string[]): Promise<void> {
    let systems: Set<BuildSystem>;
    try {
      systems = new Set(nodes.map((n) => buildSystemFor(n, groups ?? this.ctx.nodes.get(n)?.groups ?? [], this.selection, this.registry)));
    } catch (err) {
      throw new SettingError(`image: ${(err as Error).message}`);
    }
    for (const system of systems) {
      const names = (await system.images()).map((i) => i.name);
      if (!names.includes(image)) throw new SettingError(`image: build system ${system.name} has no image "${image}" (images: ${names.join(', ') || 'none'})`);
    }
  }

  private nodeByMac(mac: string): { name: string } | null {
    if (this.macIndex.version !== this.ctx.nodes.version) {
      const map = new Map<string, string>();
      for (const name of this.ctx.nodes.names()) for (const m of this.ctx.nodes.get(name)!.ids.macs) map.set(m, name);
      this.macIndex = { version: this.ctx.nodes.version, map };
    }
    const name = this.macIndex.map.get(mac);
    return name ? { name } : null;
  }
}
