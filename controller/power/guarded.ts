/**
 * Turns a driver's raw `PowerBackend` into the `PowerDriver` the controller uses: every call gets
 * a deadline (a hanging BMC never blocks the caller), failures become `PowerError`s with context
 * and without secrets, and `cycle` is off → verify off → on unless the hardware cycles safely itself.
 */
import { PowerError, scrubSecrets, type CallOptions, type DriverOperation, type PowerBackend, type PowerDriver } from './driver.js';

export interface GuardSettings {
  kind: string;
  node: string;
  /** Redacted target, for `PowerDriver.target`. */
  target: string;
  /** Strings to mask in error reasons (passwords, tokens). */
  secrets: readonly string[];
  nativeCycle: boolean;
  timeoutMs: number;
  verifyOffTimeoutMs: number;
  pollMs: number;
}

export const DEFAULT_TIMEOUT_MS = 20_000;
export const DEFAULT_VERIFY_OFF_TIMEOUT_MS = 60_000;
export const DEFAULT_POLL_MS = 1_000;

/** Thrown inside a cycle to carry a step name and a code up to the PowerError. */
class StepFailure extends Error {
  constructor(
    readonly code: 'failed' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

export function guardBackend(backend: PowerBackend, s: GuardSettings): PowerDriver {
  const scrub = (text: string) => scrubSecrets(text, s.secrets);
  /** The original error as cause, unless its message holds a secret: then a scrubbed copy. */
  const scrubbedCause = (err: unknown): unknown => {
    const msg = messageOf(err);
    return scrub(msg) === msg ? err : new Error(scrub(msg));
  };

  /** Runs `fn` under a deadline and the caller's signal; maps every failure to a PowerError. */
  async function guarded<T>(action: DriverOperation, opts: CallOptions, defaultMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = opts.timeoutMs ?? defaultMs;
    if (!(ms > 0)) throw new PowerError(s.node, s.kind, action, 'failed', `timeout must be a positive number of ms, got ${ms}`);
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort(new Error(`timed out after ${ms} ms`));
    }, ms);
    const onOuterAbort = () => ac.abort(new Error('aborted by caller'));
    if (opts.signal?.aborted) onOuterAbort();
    else opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      return await Promise.race([fn(ac.signal), rejectOnAbort(ac.signal)]);
    } catch (err) {
      if (err instanceof StepFailure) throw new PowerError(s.node, s.kind, action, err.code, scrub(err.message), { cause: scrubbedCause(err) });
      if (ac.signal.aborted) {
        const code = timedOut ? 'timeout' : 'aborted';
        throw new PowerError(s.node, s.kind, action, code, timedOut ? `timed out after ${ms} ms` : 'aborted by caller');
      }
      throw new PowerError(s.node, s.kind, action, 'failed', scrub(messageOf(err)), { cause: scrubbedCause(err) });
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** One cycle step: failures are re-thrown as StepFailure naming the step. */
  async function step<T>(name: string, signal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await fn(signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new StepFailure('failed', `${name}: ${messageOf(err)}`);
    }
  }

  /** Polls status until it reads `off`; gives up after verifyOffTimeoutMs. */
  async function verifyOff(signal: AbortSignal): Promise<void> {
    const deadline = performance.now() + s.verifyOffTimeoutMs;
    let last = 'no reading';
    for (;;) {
      try {
        const state = await backend.status(signal);
        if (state === 'off') return;
        last = `status ${state}`;
      } catch (err) {
        if (signal.aborted) throw err;
        last = `status failed: ${messageOf(err)}`; // a BMC may be busy right after off: keep polling
      }
      if (performance.now() + s.pollMs > deadline) throw new StepFailure('timeout', `verify off: node did not read off within ${s.verifyOffTimeoutMs} ms (last: ${last})`);
      await sleep(s.pollMs, signal);
    }
  }

  async function cycle(signal: AbortSignal): Promise<void> {
    if (s.nativeCycle && backend.cycle) return backend.cycle(signal);
    await step('power off', signal, (sig) => backend.off(sig));
    await verifyOff(signal);
    await step('power on', signal, (sig) => backend.on(sig));
  }

  const cycleDefaultMs = () => (s.nativeCycle ? s.timeoutMs : 2 * s.timeoutMs + s.verifyOffTimeoutMs);

  const driver: PowerDriver = {
    kind: s.kind,
    node: s.node,
    target: s.target,
    nativeCycle: s.nativeCycle,
    on: (opts = {}) => guarded('on', opts, s.timeoutMs, (sig) => backend.on(sig)),
    off: (opts = {}) => guarded('off', opts, s.timeoutMs, (sig) => backend.off(sig)),
    reset: (opts = {}) => guarded('reset', opts, s.timeoutMs, (sig) => backend.reset(sig)),
    status: (opts = {}) => guarded('status', opts, s.timeoutMs, (sig) => backend.status(sig)),
    cycle: (opts = {}) => guarded('cycle', opts, cycleDefaultMs(), cycle),
    async run(action, opts) {
      if (action === 'status') return driver.status(opts);
      await driver[action](opts);
      return undefined;
    },
  };
  const { netbootOnce } = backend;
  if (netbootOnce) driver.netbootOnce = (mode, opts = {}) => guarded('bootdev', opts, s.timeoutMs, (sig) => netbootOnce.call(backend, mode, sig));
  return driver;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** setTimeout-based (so fake timers drive it), cut short by the signal. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
