/**
 * Picks and builds the power driver for a node from its target URL. A new BMC kind is a new file
 * in drivers/ plus one entry in DRIVERS; nothing else changes.
 */
import { NodeName } from '../../shared/protocol.js';
import { PowerTargetError, isSecretParam, redactTarget, scrubSecrets, type DriverOptions, type PowerDriver, type PowerDriverFactory } from './driver.js';
import { commandDriver } from './drivers/command.js';
import { fenceDriver } from './drivers/fence.js';
import { ipmiDriver } from './drivers/ipmi.js';
import { qemuDriver } from './drivers/qemu.js';
import { redfishDriver } from './drivers/redfish.js';
import { simDriver } from './drivers/sim.js';
import { DEFAULT_POLL_MS, DEFAULT_TIMEOUT_MS, DEFAULT_VERIFY_OFF_TIMEOUT_MS, guardBackend } from './guarded.js';

const DRIVERS: readonly PowerDriverFactory[] = [ipmiDriver, redfishDriver, qemuDriver, commandDriver, fenceDriver, simDriver];

/** URL schemes with a driver, e.g. for help texts. */
export const POWER_SCHEMES: readonly string[] = DRIVERS.map((d) => d.scheme);

const EXAMPLES = 'ipmi://user:pass@host:623, redfish://user:pass@host/redfish/v1/Systems/1, qemu:///path/qmp.sock, command:/path/script, fence://user:pass@host/ipmilan?lanplus=1, sim://';

/**
 * The driver for `target` acting on `node`. Throws PowerTargetError (secrets redacted) naming what
 * is wrong: not a URL, unknown scheme, missing host or credentials, unknown or bad options.
 */
export function createPowerDriver(target: string, node: string, opts: DriverOptions = {}): PowerDriver {
  const shown = redactTarget(target);
  const bad = (reason: string) => new PowerTargetError(node, shown, reason);
  const nodeCheck = NodeName.safeParse(node);
  if (!nodeCheck.success) throw bad(`node name "${node}" is invalid: ${nodeCheck.error.issues[0]?.message ?? 'bad name'}`);

  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw bad(`not a URL (expected one of ${EXAMPLES})`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  const factory = DRIVERS.find((d) => d.scheme === scheme);
  if (!factory) throw bad(`unknown power driver "${scheme}" (known: ${POWER_SCHEMES.join(', ')})`);

  const allowed = new Set(['cycle', ...(factory.params === 'any' ? [] : factory.params)]);
  const unknown = factory.params === 'any' ? [] : [...url.searchParams.keys()].filter((k) => !allowed.has(k));
  if (unknown.length) throw bad(`unknown option ${unknown.map((k) => `"${k}="`).join(', ')} (${scheme} accepts: ${[...allowed].join(', ')})`);

  const cycleParam = url.searchParams.get('cycle');
  if (cycleParam !== null && cycleParam !== 'native' && cycleParam !== 'generic') throw bad(`cycle= must be native or generic, got "${cycleParam}"`);

  const timeoutMs = positive(opts.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs', bad);
  const verifyOffTimeoutMs = positive(opts.verifyOffTimeoutMs, DEFAULT_VERIFY_OFF_TIMEOUT_MS, 'verifyOffTimeoutMs', bad);
  const pollMs = positive(opts.pollMs, DEFAULT_POLL_MS, 'pollMs', bad);

  const secrets = [
    url.password && decodeURIComponent(url.password),
    opts.credentials?.password,
    ...[...url.searchParams].filter(([k]) => isSecretParam(k)).map(([, v]) => v),
  ].filter((s): s is string => !!s);

  let backend;
  try {
    backend = factory.create({ url, node, opts });
  } catch (err) {
    throw bad(scrubSecrets(err instanceof Error ? err.message : String(err), secrets));
  }
  const nativeCycle = cycleParam ? cycleParam === 'native' : factory.nativeCycleByDefault;
  if (nativeCycle && !backend.cycle) throw bad(`${scheme} has no native cycle (use cycle=generic)`);

  return guardBackend(backend, { kind: scheme, node, target: shown, secrets, nativeCycle, timeoutMs, verifyOffTimeoutMs, pollMs });
}

function positive(value: number | undefined, fallback: number, name: string, bad: (r: string) => Error): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0)) throw bad(`${name} must be a positive number of ms, got ${value}`);
  return value;
}
