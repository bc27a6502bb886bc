/**
 * `sim://` — simulated power for the demo and for tests: in-memory state with small delays.
 * Query options: `delay=MS` (per action, default 50), `fail=on,off,…` (those actions fail),
 * `hang=status,…` (those actions never finish: for timeout tests), `state=on|off` (initial state).
 * All nodes share one `SimPowerPlant` (the default one unless the options name another), which
 * emits `change` so a demo can stop a simulated agent when its node is switched off.
 */
import { EventEmitter } from 'node:events';
import { POWER_ACTIONS, type PowerAction } from '../../../shared/verbs/args.js';
import type { PowerBackend, PowerDriverFactory, PowerState } from '../driver.js';
import { sleep } from '../guarded.js';

export interface SimPowerPlantEvents {
  change: [node: string, state: PowerState, action: PowerAction];
}

/** The simulated machine room: one power state per node. */
export class SimPowerPlant extends EventEmitter<SimPowerPlantEvents> {
  private readonly states = new Map<string, PowerState>();

  state(node: string): PowerState {
    return this.states.get(node) ?? 'unknown';
  }

  /** Sets a node's state, emitting `change` when it differs. */
  set(node: string, state: PowerState, action: PowerAction): void {
    if (this.states.get(node) === state) return;
    this.states.set(node, state);
    this.emit('change', node, state, action);
  }

  /** Sets the state only for nodes never seen (a target's `state=` is an initial value). */
  init(node: string, state: PowerState): void {
    if (!this.states.has(node)) this.states.set(node, state);
  }
}

export const defaultSimPlant = new SimPowerPlant();

declare module '../driver.js' {
  interface DriverOptions {
    /** The simulated plant `sim://` targets act on (default: `defaultSimPlant`). */
    simPlant?: SimPowerPlant;
  }
}

const actionList = (url: URL, key: string): Set<PowerAction> => {
  const raw = url.searchParams.get(key);
  const items = raw ? raw.split(',').map((a) => a.trim()) : [];
  for (const a of items) if (!POWER_ACTIONS.includes(a as PowerAction)) throw new Error(`${key}= lists "${a}", expected some of ${POWER_ACTIONS.join(', ')}`);
  return new Set(items as PowerAction[]);
};

export function createSimBackend(url: URL, node: string, plant: SimPowerPlant): PowerBackend {
  const delayRaw = url.searchParams.get('delay') ?? '50';
  const delay = Number(delayRaw);
  if (!Number.isFinite(delay) || delay < 0) throw new Error(`delay= must be a non-negative number of ms, got "${delayRaw}"`);
  const initial = url.searchParams.get('state') ?? 'off';
  if (initial !== 'on' && initial !== 'off') throw new Error(`state= must be on or off, got "${initial}"`);
  const failing = actionList(url, 'fail');
  const hanging = actionList(url, 'hang');
  plant.init(node, initial);

  const act = async (action: PowerAction, signal: AbortSignal): Promise<void> => {
    if (hanging.has(action)) await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    await sleep(delay, signal);
    if (failing.has(action)) throw new Error(`simulated failure of ${action}`);
  };
  return {
    async status(signal) {
      await act('status', signal);
      return plant.state(node);
    },
    async on(signal) {
      await act('on', signal);
      plant.set(node, 'on', 'on');
    },
    async off(signal) {
      await act('off', signal);
      plant.set(node, 'off', 'off');
    },
    async reset(signal) {
      await act('reset', signal);
      if (plant.state(node) !== 'on') throw new Error('node is off: nothing to reset');
      plant.emit('change', node, 'on', 'reset');
    },
    async cycle(signal) {
      await act('cycle', signal);
      plant.set(node, 'on', 'cycle');
    },
  };
}

export const simDriver: PowerDriverFactory = {
  scheme: 'sim',
  nativeCycleByDefault: false,
  params: ['delay', 'fail', 'hang', 'state'],
  create: ({ url, node, opts }) => createSimBackend(url, node, opts.simPlant ?? defaultSimPlant),
};
