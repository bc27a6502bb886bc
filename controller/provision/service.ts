import { join } from 'node:path';
import { z } from 'zod';
import { describeZodError } from '../../shared/protocol.js';
import type { Context, Extension } from '../context.js';
import type { EventOwner } from '../events.js';
import { createCommandBuildSystem } from './command/command.js';
import { createNetbootHttpHandler } from './netboot/http.js';
import { NetbootBuildSystem } from './netboot/netboot.js';
import { BuildRegistry, BuildSelection, buildSystemFor } from './registry.js';
import { BuildError, canAddImages, isBuildError, type BuildImage, type BuildStatus, type BuildSystem } from './types.js';

/** The `build:` section of the controller config. */
export const BuildConfigSection = BuildSelection.extend({
  /** Image booted by machines nobody knows yet (it runs the agent). */
  discoveryImage: z.string().optional(),
  /** Directories netboot image files (kernels, initrds) must be in; default: DATA/images. */
  imageDirs: z.array(z.string().min(1)).min(1).optional(),
  /** External provisioning tools, each registered under its name (see docs/build-systems.md). */
  commands: z.array(z.object({ name: z.string().min(1), executable: z.string().min(1), args: z.array(z.string()).optional(), timeoutMs: z.number().int().positive().optional() })).default([]),
}).strict();

/**
 * The build layer in the controller: the registry of build systems (netboot always, command tools
 * from the config), the netboot HTTP routes, and the hand-off: a node bound to an agent with an
 * image set is prepared; `muster build` prepares on demand; a building node that reaches `run`
 * is released.
 */
export class BuildService implements Extension {
  readonly name = 'build';
  private ctx!: Context;
  private registry!: BuildRegistry;
  private selection!: BuildSelection;
  private netboot!: NetbootBuildSystem;
  private macIndex: { version: number; map: Map<string, string> } = { version: -1, map: new Map() };
  private events!: EventOwner;

  async start(ctx: Context): Promise<void> {
    this.ctx = ctx;
    const parsed = BuildConfigSection.safeParse(ctx.config.build ?? {});
    if (!parsed.success) throw new Error(`config build: ${describeZodError(parsed.error)}`);
    const cfg = parsed.data;
    this.netboot = await NetbootBuildSystem.open({
      dataDir: ctx.config.dataDir,
      controllerUrl: ctx.config.advertiseUrl ?? ctx.brokerUrl,
      discoveryImage: cfg.discoveryImage,
      imageDirs: cfg.imageDirs ?? [join(ctx.config.dataDir, 'images')],
      now: ctx.now,
    });
    this.registry = new BuildRegistry([this.netboot, ...cfg.commands.map((c) => createCommandBuildSystem(c))]);
    this.selection = { default: cfg.default ?? 'netboot', groups: cfg.groups };
    this.registry.check(this.selection);
    ctx.http.mount(createNetbootHttpHandler({ netboot: this.netboot, nodeByMac: (mac) => this.nodeByMac(mac), log: (m) => ctx.log.warn(m) }));
    this.events = ctx.events.owner(this.name);
    this.events.on('node:bound', ({ node, hello }) => {
      // A machine just identified by a rule, with an image to run: hand it to its build system.
      if (hello && ctx.nodes.get(node)?.image && hello.phase === 'kernel' && this.isNewBinding(node)) void this.build([node], 'identified').catch((err: Error) => ctx.log.error({ node, err: err.stack }, 'build on identification failed'));
    });
    this.events.on('node:transition', (t) => {
      if (t.axis === 'phase' && t.to === 'run') void this.releaseIfBuilding(t.node);
    });
  }

  async stop(): Promise<void> {
    this.events.off();
    await Promise.all(this.registry.all().map((s) => s.close()));
  }

  systemFor(node: string): BuildSystem {
    return buildSystemFor(node, this.ctx.nodes.get(node)?.groups ?? [], this.selection, this.registry);
  }

  async images(): Promise<Array<BuildImage & { system: string }>> {
    const lists = await Promise.all(this.registry.all().map(async (s) => (await s.images()).map((i) => ({ ...i, system: s.name }))));
    return lists.flat();
  }

  async addImage(name: string, files: { kernel: string; initrd: string; cmdline?: string; diskless?: boolean }, replace: boolean, system = 'netboot'): Promise<BuildImage> {
    const s = this.registry.get(system);
    if (!canAddImages(s)) throw new BuildError('bad-config', null, `build system ${system} keeps its own images: add them with its own tool`);
    return s.addImage(name, files, { replace });
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
          await system.configure(node, { image: def.image, tags: def.tags, interfaces: def.interfaces });
          await system.prepare(node);
          ctx.publishEvent({ kind: 'build', node, agentId: def.agentId, message: `${node} prepared to build image ${def.image} with ${system.name} (${by})`, details: { system: system.name, state: 'prepared', image: def.image, by } });
          return { node, ok: true, system: system.name };
        } catch (err) {
          const error = (err as Error).message;
          ctx.publishEvent({ kind: 'build', node, agentId: def?.agentId ?? null, message: `${node} build not prepared: ${error}`, details: { state: 'failed', error, by } });
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
      this.ctx.publishEvent({ kind: 'build', node, agentId: null, message: `${node} built and running: released to boot normally`, details: { system: system.name, state: 'done' } });
    } catch (err) {
      // Not configured in its build system: nothing to release.
      if (isBuildError(err, 'unknown-node')) return;
      this.ctx.log.warn({ node, err: (err as Error).message }, 'build: releasing a node that runs failed; it may build again on its next network boot');
    }
  }

  /** True the first time a node is bound since it was last built (not on every reconnect). */
  private isNewBinding(node: string): boolean {
    return this.ctx.nodes.get(node)?.runtime === undefined;
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
