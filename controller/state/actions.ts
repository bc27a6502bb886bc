/**
 * The actions port: how the state manager's decisions reach the hardware. Power actions go to the
 * node's power driver; the console tail to the console manager when one is running. Each outcome
 * goes back to the machine as an `action-result`.
 */
import type { Context } from '../context.js';
import { createPowerDriver } from '../power/registry.js';
import type { Decision, DriverAction } from './types.js';

export interface ActionOutcome {
  ok: boolean;
  detail?: string;
  /** The power state read after a power action, when the driver could read it. */
  power?: 'on' | 'off' | 'unknown';
}

export interface ActionsPort {
  run(decision: Decision & { action: DriverAction }, ctx: Context): Promise<ActionOutcome>;
}

/** Returns the last lines of a node's console log, or null when consoles are not managed here. */
export type ConsoleTail = (node: string, lines: number) => Promise<string[] | null>;

export class DriverActions implements ActionsPort {
  constructor(private readonly consoleTail: ConsoleTail = async () => null) {}

  async run(d: Decision & { action: DriverAction }, ctx: Context): Promise<ActionOutcome> {
    if (d.action === 'console-tail') {
      const lines = await this.consoleTail(d.node, 50);
      if (lines === null) return { ok: true, detail: 'no console configured' };
      ctx.publishEvent({ kind: 'action', node: d.node, agentId: null, message: `${d.node} console tail captured (${lines.length} lines)`, details: { action: 'console-tail', lines } });
      return { ok: true, detail: `${lines.length} console lines captured` };
    }
    const target = ctx.nodes.get(d.node)?.power;
    if (!target) return { ok: false, detail: `node ${d.node} has no power target (muster set ${d.node} power=URL)` };
    try {
      const driver = createPowerDriver(target, d.node);
      if (d.action === 'reset') await driver.reset();
      else await driver.cycle();
      const power = await driver.status().catch(() => 'unknown' as const);
      return { ok: true, power };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }
}
