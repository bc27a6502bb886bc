/**
 * The actions port: how the state manager's decisions reach the hardware. Power actions go through
 * the power service (one action at a time per node, results published and read back as power
 * state); the console tail comes from the console manager when one runs. Each outcome goes back to
 * the machine as an `action-result`.
 */
import type { Context } from '../context.js';
import type { PowerService } from '../power/service.js';
import type { Decision, DriverAction } from './types.js';

export interface ActionOutcome {
  ok: boolean;
  detail?: string;
}

export interface ActionsPort {
  run(decision: Decision & { action: DriverAction }, ctx: Context): Promise<ActionOutcome>;
  /** The node's recent console lines (evidence for a hwlog issue), or null without a console. */
  consoleTail(node: string, lines: number): Promise<string[] | null>;
}

/** The last lines of a node's console log, or null when its console is not managed here. */
export type ConsoleTail = (node: string, lines: number) => Promise<string[] | null>;

export class DriverActions implements ActionsPort {
  constructor(
    private readonly power: PowerService,
    readonly consoleTail: ConsoleTail = async () => null,
  ) {}

  async run(d: Decision & { action: DriverAction }, ctx: Context): Promise<ActionOutcome> {
    if (d.action === 'console-tail') {
      const lines = await this.consoleTail(d.node, 50);
      if (lines === null) return { ok: true, detail: 'no console configured' };
      ctx.publishEvent({ kind: 'action', node: d.node, agentId: null, message: `${d.node} console tail captured (${lines.length} lines)`, details: { action: 'console-tail', lines } });
      return { ok: true, detail: `${lines.length} console lines captured` };
    }
    const [r] = await this.power.run(d.action === 'reset' ? 'reset' : 'cycle', [d.node], { by: `policy ${d.policy} attempt ${d.attempt}`, concurrency: 1 });
    return r!.ok ? { ok: true } : { ok: false, detail: r!.error ?? 'failed' };
  }
}
