/**
 * The power port: what the controller calls to switch a node, and what a BMC driver implements.
 *
 * A driver file (controller/power/drivers/*.ts) implements only the small `PowerBackend` — the raw
 * operations of one BMC kind, each honouring an AbortSignal. `createPowerDriver` (registry.ts)
 * wraps it into a `PowerDriver`, which adds what every kind needs the same way: timeouts, typed
 * errors with context, secret scrubbing, and the fence-agent style cycle (off → verify off → on).
 */
import type { AllowedPrograms } from '../process/allowed-programs.js';
import { MusterError } from '../../shared/errors.js';
import type { Power } from '../../shared/protocol.js';
import type { PowerAction } from '../../shared/verbs/args.js';

export type PowerState = Power;

/** How a node's firmware boots (its agent's `os.bootMode`): picks the BMC's UEFI or legacy boot flag. */
export type BootMode = 'uefi' | 'bios';

/** What a driver does besides the power actions, named in its errors. */
export type DriverOperation = PowerAction | 'bootdev';

/** Per-call options: a caller's signal (e.g. a shutdown) and/or a timeout in ms overriding the default. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** What the controller uses. Every call settles within its timeout, whatever the BMC does. */
export interface PowerDriver {
  /** Driver kind (the URL scheme): `ipmi`, `redfish`, `qemu`, `command`, `sim`. */
  readonly kind: string;
  readonly node: string;
  /** The target URL with secrets replaced by `***`: safe to log and show. */
  readonly target: string;
  /** True when `cycle` is the hardware's own (native) cycle rather than off → verify off → on. */
  readonly nativeCycle: boolean;
  on(opts?: CallOptions): Promise<void>;
  off(opts?: CallOptions): Promise<void>;
  cycle(opts?: CallOptions): Promise<void>;
  reset(opts?: CallOptions): Promise<void>;
  status(opts?: CallOptions): Promise<PowerState>;
  /** Runs one action by name; resolves to the state for `status`, to undefined for the others. */
  run(action: PowerAction, opts?: CallOptions): Promise<PowerState | undefined>;
  /**
   * Tells the BMC to boot from the network once, at the next boot (`mode`: the node's firmware,
   * when known). Absent for kinds that cannot: the capability is the method's presence.
   */
  netbootOnce?(mode: BootMode | null, opts?: CallOptions): Promise<void>;
}

/**
 * What a driver file implements. Each operation must stop its I/O when `signal` aborts (kill the
 * child, destroy the socket, abort the request); the wrapper also stops waiting at that moment.
 */
export interface PowerBackend {
  status(signal: AbortSignal): Promise<PowerState>;
  on(signal: AbortSignal): Promise<void>;
  off(signal: AbortSignal): Promise<void>;
  reset(signal: AbortSignal): Promise<void>;
  /** The hardware's own safe cycle; only drivers that have one implement it. */
  cycle?(signal: AbortSignal): Promise<void>;
  /** The next boot (only) from the network; only drivers whose BMC has a boot override implement it. */
  netbootOnce?(mode: BootMode | null, signal: AbortSignal): Promise<void>;
}

/**
 * Options every driver receives (from the controller's config for this node). A driver adds its
 * own by module augmentation of this interface (see drivers/qemu.ts), so the core never changes.
 */
export interface DriverOptions {
  /** Used when the target URL has no user/password (so config can keep secrets out of URLs). */
  credentials?: { username: string; password: string };
  /** Default timeout of one action in ms (default 20 s). */
  timeoutMs?: number;
  /** Cycle: how long to wait for the node to read `off` before powering on (default 60 s). */
  verifyOffTimeoutMs?: number;
  /** Cycle: interval between status polls while verifying off (default 1 s). */
  pollMs?: number;
  /** Where `command:` scripts may be (the controller always gives it); without it (driver tests) any script runs. */
  programs?: AllowedPrograms;
}

/** Everything a driver factory gets: the parsed URL, the node, and the options. */
export interface DriverContext {
  url: URL;
  node: string;
  opts: DriverOptions;
}

/** A registry entry: one BMC kind. */
export interface PowerDriverFactory {
  scheme: string;
  /** Default for `cycle`: true if this hardware's own cycle is safe (e.g. a VM's reset). */
  nativeCycleByDefault: boolean;
  /**
   * Query parameters this kind accepts besides the common `cycle=`; others are refused as typos.
   * `any`: the kind passes options through to a program that knows them, and checks them itself.
   */
  params: readonly string[] | 'any';
  /** Parses and checks the URL; throws a plain Error naming what is wrong. */
  create(ctx: DriverContext): PowerBackend;
}

export type PowerErrorCode = 'failed' | 'timeout' | 'aborted';

/** A failed driver call: `node n012: ipmi power off failed: <reason>`, `… ipmi boot device pxe failed: …`. Never holds secrets. */
export class PowerError extends MusterError {
  override readonly name = 'PowerError';
  constructor(
    readonly node: string,
    readonly driver: string,
    readonly action: DriverOperation,
    override readonly code: PowerErrorCode,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`node ${node}: ${driver} ${action === 'bootdev' ? 'boot device pxe' : `power ${action}`} failed: ${reason}`, code, options);
  }
  get timedOut(): boolean {
    return this.code === 'timeout';
  }
}

/** A power target that cannot be used: `node n012: bad power target "ipmi://admin:***@": missing host`. */
export class PowerTargetError extends MusterError {
  override readonly name = 'PowerTargetError';
  constructor(
    readonly node: string,
    readonly target: string,
    readonly reason: string,
  ) {
    super(`node ${node}: bad power target "${target}": ${reason}`, 'bad-power-target');
  }
}

/** The target with its password and secret query values replaced by `***` (the shared redactor). */
export { isSecretParam, redactSecrets as redactTarget } from '../auth/redact.js';

/** Replaces every occurrence of each secret (and its URL-encoded form) in `text` by `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 3) continue; // masking 1–2 character strings would shred ordinary text
    for (const form of new Set([s, encodeURIComponent(s)])) out = out.split(form).join('***');
  }
  return out;
}
