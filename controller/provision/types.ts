/**
 * The build layer's one interface: a build system provisions nodes (arranges their next boot to
 * install an image, reports how that went, and hands the node back to its local disk). The core
 * controller only ever talks to this interface, so an implementation is a plug-in (Ironic's
 * deploy interface, kept small): `netboot` (ours, iPXE over HTTP), `disk` (the same machinery
 * booting an installer that writes a disk image) and `command` (an external tool such as xCAT,
 * Warewulf or Cobbler behind a script). test/provision/conformance.ts is the
 * checklist every implementation passes.
 */
import type { ImageInfo } from '../../shared/verbs/results.js';
import { MusterError } from '../../shared/errors.js';
import type { BuildConfig } from '../../shared/node-network.js';

export type BuildState = 'idle' | 'prepared' | 'building' | 'done' | 'failed';
export const BUILD_STATES: readonly BuildState[] = ['idle', 'prepared', 'building', 'done', 'failed'];

/**
 * - idle: nothing arranged; the node boots as it normally does.
 * - prepared: the next boot builds the node.
 * - building: the node has started its build (netboot: its own agent reported from the boot after prepare).
 * - done / failed: the build finished (the node boots normally again after release()).
 */
export interface BuildStatus {
  state: BuildState;
  /** One line for people: `booted image rocky9 at 12:01`, `nodeset: install failed`. */
  detail?: string;
  /** Milliseconds since the epoch when the state was entered, when the system knows it. */
  since?: number;
}

/** What a build system lists of an image: the catalog's `images` row, declared once. */
export type BuildImage = ImageInfo;

/**
 * What a build system can do beyond the interface:
 * - `add-image`: images are added through muster (`muster image add`), see ImageCatalog.
 * - `http-boot`: it serves boot scripts and images over the controller's HTTP server.
 * - `reports-progress`: status() moves to building/done/failed by itself.
 */
export type BuildCapability = 'add-image' | 'http-boot' | 'reports-progress';

export interface BuildSystem {
  readonly name: string;
  readonly capabilities: readonly BuildCapability[];
  /** Images this system can put on a node. */
  images(): Promise<BuildImage[]>;
  /** Record what the node gets: image, tags, interfaces. bad-config / unknown-image when refused. */
  configure(node: string, config: BuildConfig): Promise<void>;
  /** Arrange the node's next boot to build it with its configured image. unknown-node if never configured. */
  prepare(node: string): Promise<void>;
  status(node: string): Promise<BuildStatus>;
  /** The node's next boot goes to its local disk (or normal image) again. */
  release(node: string): Promise<void>;
  /** Stop background work and flush state (called when the controller stops). */
  close(): Promise<void>;
}

/**
 * An image's files: the kernel and initrd a node boots; `diskless`: the image is the node's system
 * (runs from RAM); `disk`: the gzip'd disk image the booted installer writes (the `disk` system).
 */
export interface ImageFiles {
  kernel: string;
  initrd: string;
  cmdline?: string;
  diskless?: boolean;
  disk?: string;
}

/** Implemented by systems with the `add-image` capability. */
export interface ImageCatalog {
  addImage(name: string, files: ImageFiles, opts?: { replace?: boolean }): Promise<BuildImage>;
}

export function canAddImages(system: BuildSystem): system is BuildSystem & ImageCatalog {
  return system.capabilities.includes('add-image') && typeof (system as Partial<ImageCatalog>).addImage === 'function';
}

export type BuildErrorCode =
  | 'unknown-node' // never configured
  | 'bad-config' // the config (or an argument) is invalid
  | 'unknown-image' // the image does not exist in this system
  | 'image-exists' // addImage of a name already present, without replace
  | 'busy' // another operation on the node is running and this system refuses to queue
  | 'tool-failed' // an external tool or file operation failed
  | 'timeout'; // an external tool did not answer in time
export const BUILD_ERROR_CODES: readonly BuildErrorCode[] = ['unknown-node', 'bad-config', 'unknown-image', 'image-exists', 'busy', 'tool-failed', 'timeout'];

/** Every build-layer failure: a code callers can branch on and a message naming the node. */
export class BuildError extends MusterError {
  override readonly name = 'BuildError';
  constructor(
    override readonly code: BuildErrorCode,
    /** The node concerned, or null for system-wide operations (images, addImage). */
    readonly node: string | null,
    message: string,
  ) {
    super(node ? `node ${node}: ${message}` : message, code);
  }
}

export function isBuildError(err: unknown, code?: BuildErrorCode): err is BuildError {
  return err instanceof BuildError && (code === undefined || err.code === code);
}
