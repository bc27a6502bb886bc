/**
 * netboot: muster's own build system. Images (kernel + initrd + command line) live in a catalog;
 * prepare() makes the node's next network boot fetch an iPXE script that boots its image with
 * the controller URL and its interface config on the kernel command line; release() sends it to
 * its local disk again. State survives restarts in two JSON files under the data dir:
 * `<name>-images.json` and `<name>-nodes.json`.
 *
 * The same class is the `disk` build system (`installsDisk`): its images also carry a gzip'd disk
 * image, the booted initramfs (boot/initramfs/init) streams it onto the node's disk and reports
 * the outcome over HTTP (installReport), and a node installed is `done`: it boots its disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { BuildConfig, ImageId } from '../../../shared/node-network.js';
import { describeZodError } from '../../../shared/protocol.js';
import { NodeLocks } from '../node-lock.js';
import { checkBuildConfig, checkNodeName } from '../validate.js';
import { BuildError, type BuildCapability, type BuildImage, type BuildStatus, type BuildSystem, type ImageCatalog, type ImageFiles } from '../types.js';
import { redactSecrets } from '../../auth/redact.js';
import { JsonFile } from '../../store/json-file.js';
import { isInsideDirs } from '../../paths.js';
import { decideBoot, loadTemplates, renderBoot, scriptSyntaxIn, type ScriptLanguage, type Templates } from './scripts.js';

/** What an installer's report did: moved the build on, or ended it. */
export type InstallOutcome = 'progress' | 'done' | 'failed';

export interface NetbootOptions {
  /** The registry name (default `netboot`); any other is served under `/<name>/` and names the state files. */
  name?: string;
  /** The `disk` build system: images need a disk image, which the node installs. */
  installsDisk?: boolean;
  /** The controller's data dir; the catalog and node state files go here. */
  dataDir: string;
  /** MQTT URL as the nodes reach it (`mqtt://10.0.2.2:1883`), put on every build command line. */
  controllerUrl: string;
  /** Image booted by machines the controller does not know (it runs the agent), if any. */
  discoveryImage?: string;
  /**
   * Directories image files must be in, checked after resolving symlinks: `image add` names a path
   * the controller reads and serves to anyone, so it must not reach the store or a password file.
   * Without it (tests of netboot alone) any file is accepted; the controller always gives one.
   */
  imageDirs?: readonly string[];
  /** Directory holding ipxe/node.ipxe, grub/node.grub and their discovery and local templates (default: the project's boot/). */
  templatesDir?: string;
  now?: () => number;
}

const FileRecord = z.object({ path: z.string(), sha256: z.string(), size: z.number(), mtimeMs: z.number() });
const ImageRecord = z.object({ name: ImageId, kernel: FileRecord, initrd: FileRecord, disk: FileRecord.optional(), cmdline: z.string(), diskless: z.boolean().default(false), addedAt: z.number() });
const PreparedNode = z.object({
  config: BuildConfig.nullable(),
  state: z.enum(['idle', 'prepared', 'building', 'done', 'failed']),
  since: z.number(),
  detail: z.string().optional(),
  /** disk: the secret in the install report URL of the prepared build, so only its installer reports. */
  installToken: z.string().optional(),
});
const ImagesFile = z.object({ version: z.literal(1), images: z.record(z.string(), ImageRecord) });
const NodesFile = z.object({ version: z.literal(1), nodes: z.record(z.string(), PreparedNode) });
export type ImageRecord = z.infer<typeof ImageRecord>;
type PreparedNode = z.infer<typeof PreparedNode>;
export type ImagePart = 'kernel' | 'initrd' | 'disk';

/** Kernel command lines are one line of printable text; iPXE and the kernel cap them (2-4 KiB). */
const CMDLINE = /^[\x20-\x7e]{0,2048}$/;
const URL_TEXT = /^[\x21-\x7e]{1,512}$/;

export class NetbootBuildSystem implements BuildSystem, ImageCatalog {
  readonly name: string;
  readonly capabilities: readonly BuildCapability[] = ['add-image', 'http-boot', 'reports-progress'];
  /** Where its images and install reports are served: '' for netboot, `/<name>` for another. */
  readonly urlPrefix: string;
  private readonly locks = new NodeLocks();
  private readonly now: () => number;

  private constructor(
    private readonly opts: NetbootOptions,
    private readonly templates: Templates,
    private readonly catalog: Map<string, ImageRecord>,
    private readonly nodes: Map<string, PreparedNode>,
    private readonly imagesFile: JsonFile<object>,
    private readonly nodesFile: JsonFile<object>,
  ) {
    this.now = opts.now ?? Date.now;
    this.name = opts.name ?? 'netboot';
    this.urlPrefix = this.name === 'netboot' ? '' : `/${this.name}`;
  }

  static async open(opts: NetbootOptions): Promise<NetbootBuildSystem> {
    if (!URL_TEXT.test(opts.controllerUrl)) throw new Error(`netboot: controllerUrl "${opts.controllerUrl}" must be one word of printable characters`);
    const syntax = scriptSyntaxIn(opts.controllerUrl);
    if (syntax) throw new Error(`netboot: controllerUrl "${opts.controllerUrl}": ${syntax}`);
    if (opts.discoveryImage !== undefined && !ImageId.safeParse(opts.discoveryImage).success) throw new Error(`netboot: discoveryImage "${opts.discoveryImage}" is not a valid image id`);
    const name = opts.name ?? 'netboot';
    if (!/^[a-z][a-z0-9-]*$/.test(name) || ['boot', 'images', 'install'].includes(name)) throw new Error(`netboot: name "${name}" must be lowercase letters, digits and "-", and not a URL path netboot serves`);
    await mkdir(opts.dataDir, { recursive: true });
    const templates = loadTemplates(opts.templatesDir);
    const catalog = new Map<string, ImageRecord>();
    const nodes = new Map<string, PreparedNode>();
    const imagesFile = new JsonFile(join(opts.dataDir, `${name}-images.json`), () => ({ version: 1, images: Object.fromEntries(catalog) }), { name });
    const nodesFile = new JsonFile(join(opts.dataDir, `${name}-nodes.json`), () => ({ version: 1, nodes: Object.fromEntries(nodes) }), { name });
    const loadedImages = await loadFile(imagesFile, ImagesFile);
    for (const [k, v] of Object.entries(loadedImages?.images ?? {})) catalog.set(k, v);
    const loadedNodes = await loadFile(nodesFile, NodesFile);
    for (const [k, v] of Object.entries(loadedNodes?.nodes ?? {})) nodes.set(k, v);
    return new NetbootBuildSystem(opts, templates, catalog, nodes, imagesFile, nodesFile);
  }

  async images(): Promise<BuildImage[]> {
    return [...this.catalog.values()].map((i) => ({
      name: i.name,
      addedAt: i.addedAt,
      kind: i.disk ? 'disk' : i.diskless ? 'diskless' : 'netboot',
      sizeBytes: i.kernel.size + i.initrd.size + (i.disk?.size ?? 0),
      sha256: (i.disk ?? i.initrd).sha256,
      // Viewers list images: a command line's `muster.token=` (the agents' bootstrap token) is redacted.
      detail: `${i.diskless ? 'diskless, ' : ''}kernel ${i.kernel.size} B, initrd ${i.initrd.size} B${i.disk ? `, disk ${i.disk.size} B` : ''}${i.cmdline ? `, cmdline "${redactSecrets(i.cmdline)}"` : ''}`,
    }));
  }

  /**
   * Every image's kernel and initrd, read again and compared with the checksum taken when it was
   * added (`muster doctor`): what is missing or changed, per file.
   */
  async verifyImages(): Promise<{ count: number; problems: Array<{ what: string; problem: string }> }> {
    const problems: Array<{ what: string; problem: string }> = [];
    for (const image of this.catalog.values()) {
      for (const part of ['kernel', 'initrd'] as const) {
        const file = image[part];
        const what = `image ${image.name} ${part} ${file.path}`;
        try {
          const sha256 = await sha256Of(file.path);
          if (sha256 !== file.sha256) problems.push({ what, problem: `has changed since it was added (sha256 ${sha256.slice(0, 12)}…, recorded ${file.sha256.slice(0, 12)}…)` });
        } catch (err) {
          problems.push({ what, problem: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : (err as Error).message });
        }
      }
    }
    return { count: this.catalog.size, problems };
  }

  /** The catalog entry of an image (paths, checksums), or null. */
  image(name: string): ImageRecord | null {
    return this.catalog.get(name) ?? null;
  }

  /** `diskless`: the image is the node's system (runs from RAM), booted every time, never released to disk. */
  async addImage(name: string, files: ImageFiles, opts: { replace?: boolean } = {}): Promise<BuildImage> {
    const id = ImageId.safeParse(name);
    if (!id.success) throw new BuildError('bad-config', null, `image "${name}": ${id.error.issues[0]!.message}`);
    const cmdline = files.cmdline ?? '';
    if (!CMDLINE.test(cmdline)) throw new BuildError('bad-config', null, `image ${name}: cmdline must be one line of printable ASCII, at most 2048 characters`);
    const syntax = scriptSyntaxIn(cmdline);
    if (syntax) throw new BuildError('bad-config', null, `image ${name}: cmdline: ${syntax}`);
    if (this.opts.installsDisk && files.disk === undefined) throw new BuildError('bad-config', null, `image ${name}: the ${this.name} build system installs a disk image: give one (disk)`);
    if (!this.opts.installsDisk && files.disk !== undefined) throw new BuildError('bad-config', null, `image ${name}: the ${this.name} build system installs no disk images (that is the disk build system)`);
    if (this.opts.installsDisk && files.diskless) throw new BuildError('bad-config', null, `image ${name}: an image the ${this.name} build system installs on a disk cannot be diskless`);
    // Serialised per image name (node names cannot contain ":"), so two adds cannot both pass the check.
    return this.locks.run(`image:${name}`, async () => {
      if (this.catalog.has(name) && !opts.replace) throw new BuildError('image-exists', null, `image ${name} already exists (add it with replace to overwrite)`);
      const [kernel, initrd, disk] = await Promise.all([
        describeFile(name, 'kernel', files.kernel, this.opts.imageDirs),
        describeFile(name, 'initrd', files.initrd, this.opts.imageDirs),
        files.disk === undefined ? undefined : describeFile(name, 'disk', files.disk, this.opts.imageDirs),
      ]);
      this.catalog.set(name, { name, kernel, initrd, ...(disk && { disk }), cmdline, diskless: files.diskless ?? false, addedAt: this.now() });
      await this.persist(this.imagesFile, null);
      return (await this.images()).find((i) => i.name === name)!;
    });
  }

  async configure(node: string, config: BuildConfig): Promise<void> {
    checkNodeName(node);
    const checked = checkBuildConfig(node, config);
    return this.locks.run(node, async () => {
      if (!this.catalog.has(checked.image)) throw new BuildError('unknown-image', node, `image ${checked.image} is not in the ${this.name} catalog (have: ${[...this.catalog.keys()].join(', ') || 'none'})`);
      const current = this.nodes.get(node);
      this.nodes.set(node, current ? { ...current, config: checked } : { config: checked, state: 'idle', since: this.now() });
      await this.persist(this.nodesFile, node);
    });
  }

  async prepare(node: string): Promise<void> {
    checkNodeName(node);
    return this.locks.run(node, async () => {
      const rec = this.configured(node);
      if (!this.catalog.has(rec.config.image)) throw new BuildError('unknown-image', node, `image ${rec.config.image} is no longer in the ${this.name} catalog`);
      const installToken = this.opts.installsDisk ? randomBytes(16).toString('hex') : undefined;
      this.nodes.set(node, { ...rec, state: 'prepared', since: this.now(), detail: `next network boot ${this.opts.installsDisk ? 'installs' : 'builds with'} image ${rec.config.image}`, ...(installToken && { installToken }) });
      await this.persist(this.nodesFile, node);
    });
  }

  async status(node: string): Promise<BuildStatus> {
    checkNodeName(node);
    const rec = this.configured(node);
    return rec.detail === undefined ? { state: rec.state, since: rec.since } : { state: rec.state, since: rec.since, detail: rec.detail };
  }

  async release(node: string): Promise<void> {
    checkNodeName(node);
    return this.locks.run(node, async () => {
      const rec = this.configured(node);
      // A build that booted and is released finished; one released before it booted never ran.
      const next: PreparedNode =
        rec.state === 'building'
          ? { ...rec, state: 'done', since: this.now(), detail: this.catalog.get(rec.config?.image ?? '')?.diskless ? 'diskless image running; boots it again on every network boot' : 'released after its build booted; boots the local disk' }
        : rec.state === 'done' || rec.state === 'failed' ? rec
        : { ...rec, state: 'idle', since: this.now(), detail: 'released; boots the local disk' };
      this.nodes.set(node, next);
      await this.persist(this.nodesFile, node);
    });
  }

  /**
   * The boot script, in `language`, for a machine booting with `mac` (belonging to `node`, or null when unknown).
   * Serving it changes nothing: anyone can ask for any MAC's script, so only the node's own agent
   * or its own DHCP exchange moves it to building (buildStarted).
   */
  async bootScript(mac: string, node: string | null, baseUrl: string, language: ScriptLanguage = 'ipxe'): Promise<string> {
    const rec = node === null ? undefined : this.nodes.get(node);
    const decision = decideBoot({
      mac,
      language,
      node,
      nodeBuild: rec?.config ? { state: rec.state, image: rec.config.image, interfaces: rec.config.interfaces, installToken: rec.installToken, disk: rec.config.disk } : null,
      images: this.catalog,
      discoveryImage: this.opts.discoveryImage ?? null,
      controllerUrl: this.opts.controllerUrl,
    });
    return renderBoot(decision, this.templates, language, mac, baseUrl);
  }

  /**
   * A prepared node's own agent reports from a boot that began at `bootedAt` (ms since the epoch):
   * one begun after the node was prepared booted its build, so it is building. True when it moved.
   */
  async buildStarted(node: string, bootedAt: number, detail: string): Promise<boolean> {
    checkNodeName(node);
    return this.locks.run(node, async () => {
      const current = this.nodes.get(node);
      if (current?.state !== 'prepared' || bootedAt < current.since) return false;
      this.nodes.set(node, { ...current, state: 'building', since: this.now(), detail });
      await this.persist(this.nodesFile, node);
      return true;
    });
  }

  /**
   * The installer's report for the build its token belongs to: `progress <percent> <what>` keeps
   * it building with `45% writing image to /dev/vda` as its detail; `done <disk> sha256 <hex>`
   * makes it done (its next boot is its disk), `failed <reason>` failed. Returns which, or null
   * when the token is not the node's current build's.
   */
  async installReport(node: string, token: string, report: string): Promise<InstallOutcome | null> {
    return this.locks.run(node, async () => {
      const rec = this.nodes.get(node);
      if (!rec?.installToken || rec.installToken !== token || (rec.state !== 'prepared' && rec.state !== 'building')) return null;
      const text = report.replace(/[^\x20-\x7e]/g, ' ').trim().slice(0, 300);
      const progress = /^progress (\d{1,3}) (.+)$/.exec(text);
      if (progress && Number(progress[1]) <= 100) {
        this.nodes.set(node, { ...rec, state: 'building', since: rec.state === 'building' ? rec.since : this.now(), detail: `${progress[1]}% ${progress[2]}` });
        await this.persist(this.nodesFile, node);
        return 'progress';
      }
      const done = /^done\b/.test(text);
      const { installToken: _used, ...rest } = rec;
      this.nodes.set(node, {
        ...rest,
        state: done ? 'done' : 'failed',
        since: this.now(),
        detail: done ? `installed image ${rec.config?.image} (${text.slice(5)}); boots its disk` : `install failed: ${text.replace(/^failed\b\s*/, '') || 'no reason given'}`,
      });
      await this.persist(this.nodesFile, node);
      return done ? 'done' : 'failed';
    });
  }

  async close(): Promise<void> {
    await this.locks.idle();
    await Promise.all([this.imagesFile.save(), this.nodesFile.save()]);
  }

  private configured(node: string): PreparedNode & { config: BuildConfig } {
    const rec = this.nodes.get(node);
    if (!rec?.config) throw new BuildError('unknown-node', node, `not configured for ${this.name} (configure it first)`);
    return rec as PreparedNode & { config: BuildConfig };
  }

  private async persist(file: JsonFile<object>, node: string | null): Promise<void> {
    try {
      await file.save();
    } catch (err) {
      throw new BuildError('tool-failed', node, (err as Error).message);
    }
  }
}

async function loadFile<T>(file: JsonFile<object>, schema: z.ZodType<T>): Promise<T | null> {
  const raw = await file.read();
  if (raw === null) return null;
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(`${file.path}: ${describeZodError(r.error)}`);
  return r.data;
}

async function insideImageDirs(image: string, part: string, real: string, imageDirs: readonly string[]): Promise<string> {
  if (await isInsideDirs(real, imageDirs)) return real;
  throw new BuildError('bad-config', null, `image ${image}: ${part} ${real} is not inside an image directory (${imageDirs.join(', ')}; config build.imageDirs)`);
}

async function describeFile(image: string, part: ImagePart, path: string, imageDirs: readonly string[] | undefined): Promise<z.infer<typeof FileRecord>> {
  let abs = resolve(path);
  let st;
  try {
    // The file as it really is (symlinks resolved): what is checked is what is recorded and served.
    if (imageDirs) abs = await insideImageDirs(image, part, await realpath(abs), imageDirs);
    st = await stat(abs);
  } catch (err) {
    if (err instanceof BuildError) throw err;
    throw new BuildError('bad-config', null, `image ${image}: ${part} ${abs}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (!st.isFile()) throw new BuildError('bad-config', null, `image ${image}: ${part} ${abs} is not a regular file`);
  if (st.size === 0) throw new BuildError('bad-config', null, `image ${image}: ${part} ${abs} is empty`);
  return { path: abs, sha256: await sha256Of(abs), size: st.size, mtimeMs: st.mtimeMs };
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

