/**
 * Runs one power action over many nodes: at most `concurrency` at once, starts spaced at least
 * `staggerMs` apart (so a rack's power supplies do not all switch in the same instant), one result
 * per node as it finishes and all at the end. A failing node never stops the others.
 */
import pLimit from 'p-limit';
import { PowerError, PowerTargetError, type CallOptions, type PowerDriver, type PowerErrorCode, type PowerState } from './driver.js';
import type { PowerAction } from '../../shared/verbs/args.js';
import type { PowerResult as PowerResultRow } from '../../shared/verbs/results.js';
import { sleep } from './guarded.js';

/** The `power` verb's result row, with the codes this layer gives. */
export interface PowerResult extends PowerResultRow {
  state?: PowerState;
  code?: PowerErrorCode | 'target';
}

export interface FanoutOptions {
  action: PowerAction;
  nodes: readonly string[];
  /** The node's driver; may throw (e.g. PowerTargetError), which becomes that node's result. */
  driverFor: (node: string) => PowerDriver;
  /** Most actions in flight at once (default 20). */
  concurrency?: number;
  /** Least time between two starts in ms (default 0). */
  staggerMs?: number;
  /** Per-node timeout, overriding the driver's default. */
  timeoutMs?: number;
  /** Cancels what has not finished; those nodes report `aborted`. */
  signal?: AbortSignal;
  /** Called as each node's action starts (after its stagger), before its driver is called. */
  onStart?: (node: string) => void;
  /** Called with each node's result as soon as it is known. */
  onResult?: (result: PowerResult) => void;
}

export const DEFAULT_CONCURRENCY = 20;

/** Results in the order of `nodes`. */
export async function powerFanout(opts: FanoutOptions): Promise<PowerResult[]> {
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const staggerMs = opts.staggerMs ?? 0;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a whole number ≥ 1, got ${concurrency}`);
  if (!Number.isFinite(staggerMs) || staggerMs < 0) throw new Error(`staggerMs must be ≥ 0, got ${staggerMs}`);
  const seen = new Set<string>();
  const dupes = opts.nodes.filter((n) => seen.size === seen.add(n).size);
  if (dupes.length) throw new Error(`nodes listed twice: ${[...new Set(dupes)].join(', ')} (one action at a time per node)`);

  const limit = pLimit(concurrency);
  const call: CallOptions = { signal: opts.signal, timeoutMs: opts.timeoutMs };
  let nextStart = 0;

  const runOne = async (node: string): Promise<PowerResult> => {
    const startAt = Math.max(performance.now(), nextStart);
    nextStart = startAt + staggerMs;
    if (startAt > performance.now()) await sleep(startAt - performance.now());
    opts.onStart?.(node);
    const t0 = performance.now();
    let result: PowerResult;
    try {
      const state = await opts.driverFor(node).run(opts.action, call);
      result = { node, ok: true, ...(state && { state }), ms: Math.ceil(performance.now() - t0) };
    } catch (err) {
      result = { node, ok: false, error: err instanceof Error ? err.message : String(err), code: codeOf(err), ms: Math.ceil(performance.now() - t0) };
    }
    opts.onResult?.(result);
    return result;
  };
  return Promise.all(opts.nodes.map((node) => limit(() => runOne(node))));
}

function codeOf(err: unknown): PowerResult['code'] {
  if (err instanceof PowerError) return err.code;
  if (err instanceof PowerTargetError) return 'target';
  return 'failed';
}
