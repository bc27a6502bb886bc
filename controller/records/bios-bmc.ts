/**
 * BIOS settings through the nodes' BMCs: reads what each Redfish BMC holds into the store (actual
 * and pending), and writes the desired settings that differ to its Settings resource, pending
 * until the node's next reset. At most `power.concurrency` BMCs at once, each call bounded in time.
 */
import pLimit from 'p-limit';
import { MusterError } from '../../shared/errors.js';
import type { BiosApplyRow } from '../../shared/verbs/results.js';
import type { Context } from '../context.js';
import { PowerTargetError, redactTarget, scrubSecrets, type DriverOptions } from '../power/driver.js';
import { DEFAULT_TIMEOUT_MS } from '../power/guarded.js';
import { redfishClient, type RedfishClient } from '../power/redfish-client.js';
import { attributesAsSettings, desiredFor, planBiosWrite, recordReportedBios } from './bios.js';
import { readAttributeRules, readRedfishBios, stageRedfishBios, type RedfishBios } from './bios-redfish.js';

/** A node's driver options (credentials, CA), as the power service has them. */
export type DriverOptionsOf = (node: string) => DriverOptions;

interface NodeBmc {
  client: RedfishClient;
  secrets: string[];
}

export class BmcBios {
  constructor(
    private readonly optionsOf: DriverOptionsOf,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  /**
   * Reads the BIOS of every Redfish node of `nodes` that has desired settings into the store.
   * Returns the nodes whose BMC could not be read, with why.
   */
  async read(ctx: Context, nodes: readonly string[]): Promise<Map<string, string>> {
    const errors = new Map<string, string>();
    const redfish = nodes.flatMap((node) => {
      if (!Object.keys(desiredFor(ctx.store.data, node)).length) return [];
      try {
        const bmc = this.redfishOf(ctx, node);
        return bmc ? [{ node, bmc }] : [];
      } catch (err) {
        errors.set(node, (err as Error).message);
        return [];
      }
    });
    const limit = pLimit(ctx.config.power.concurrency);
    await Promise.all(
      redfish.map(({ node, bmc }) =>
        limit(async () => {
          try {
            await this.call(node, 'read', bmc, async (signal) => this.record(ctx, node, await readRedfishBios(bmc.client, signal)));
          } catch (err) {
            errors.set(node, (err as Error).message);
          }
        }),
      ),
    );
    return errors;
  }

  /** Writes each node's differing desired settings to its BMC; one row per node, in order. */
  async apply(ctx: Context, nodes: readonly string[], by: string): Promise<BiosApplyRow[]> {
    const limit = pLimit(ctx.config.power.concurrency);
    return Promise.all(
      nodes.map((node) =>
        limit(async (): Promise<BiosApplyRow> => {
          try {
            const bmc = this.redfishOf(ctx, node);
            if (!bmc) {
              const target = ctx.nodes.get(node)?.power;
              throw new MusterError(`node ${node}: BIOS settings are written through a Redfish BMC; ${target ? `its power target is ${redactTarget(target)}` : 'it has no power target'}`, 'not-redfish');
            }
            const written = await this.call(node, 'apply', bmc, (signal) => this.applyOne(ctx, node, bmc.client, signal));
            if (Object.keys(written).length) {
              ctx.publishEvent({
                kind: 'action',
                node,
                agentId: null,
                message: `${node} bios apply: ${Object.keys(written).join(', ')} pending until the next reset (${by})`,
                details: { action: 'bios-apply', state: 'done', by, written },
              });
            }
            return { node, ok: true, written };
          } catch (err) {
            return { node, ok: false, written: {}, error: (err as Error).message };
          }
        }),
      ),
    );
  }

  private async applyOne(ctx: Context, node: string, client: RedfishClient, signal: AbortSignal): Promise<Record<string, string | number | boolean>> {
    const bios = await readRedfishBios(client, signal);
    this.record(ctx, node, bios);
    const rules = bios.registry ? await readAttributeRules(client, bios.registry, signal) : null;
    const plan = planBiosWrite(desiredFor(ctx.store.data, node), bios, rules);
    if (plan.problems.length) throw new Error(`nothing written: ${plan.problems.join('; ')}`);
    if (!Object.keys(plan.write).length) return {};
    await stageRedfishBios(client, bios.settingsPath, plan.write, signal);
    // What the BMC now holds as pending, not what was sent: a BMC may drop or change a value.
    this.record(ctx, node, await readRedfishBios(client, signal));
    return plan.write;
  }

  private record(ctx: Context, node: string, bios: RedfishBios): void {
    // Touches data.bios only: no record of nodes or agents (one change per BMC of a range).
    ctx.store.change(
      (d) =>
        recordReportedBios(d, node, {
          ...(bios.version !== null && { version: bios.version }),
          settings: attributesAsSettings(bios.attributes),
          pending: attributesAsSettings(bios.pending),
          at: ctx.now(),
        }),
      {},
    );
  }

  /** The node's Redfish BMC; null when it has no power target or one of another kind. */
  private redfishOf(ctx: Context, node: string): NodeBmc | null {
    const target = ctx.nodes.get(node)?.power;
    if (!target) return null;
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new PowerTargetError(node, redactTarget(target), 'not a URL');
    }
    if (url.protocol !== 'redfish:') return null;
    const options = this.optionsOf(node);
    const secrets = [url.password && decodeURIComponent(url.password), options.credentials?.password].filter((s): s is string => !!s);
    try {
      return { client: redfishClient(url, options), secrets };
    } catch (err) {
      throw new PowerTargetError(node, redactTarget(target), scrubSecrets((err as Error).message, secrets));
    }
  }

  /** Runs one BMC exchange within the time limit; a failure names the node and what failed, without secrets. */
  private async call<T>(node: string, what: 'read' | 'apply', bmc: NodeBmc, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      return await fn(signal);
    } catch (err) {
      const reason = signal.aborted ? `timed out after ${this.timeoutMs} ms` : scrubSecrets((err as Error).message, bmc.secrets);
      throw new MusterError(`node ${node}: redfish bios ${what} failed: ${reason}`, signal.aborted ? 'timeout' : 'bmc-failed');
    }
  }
}
