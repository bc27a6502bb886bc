/**
 * `muster doctor` in the controller: gathers the facts only the controller has (its store, data
 * directory, certificate, dnsmasq, catalog, tokens, power targets, what agents report of their
 * clocks) and hands them to the judgements in checks.ts. The CLI adds its own checks (reachable,
 * version).
 */
import { X509Certificate } from 'node:crypto';
import { readFile, stat, statfs } from 'node:fs/promises';
import { isAgentClient } from '../broker/acl.js';
import type { Context, Extension } from '../context.js';
import type { EventOwner } from '../events.js';
import type { ProvisioningNetwork } from '../network/service.js';
import type { PowerService } from '../power/service.js';
import type { BuildService } from '../provision/service.js';
import { DOCTOR_CHECKS, type DoctorCheckId } from '../../shared/verbs/args.js';
import type { DoctorCheck } from '../../shared/verbs/results.js';
import { clockCheck, dataDirCheck, dhcpCheck, imagesCheck, loadersCheck, powerCheck, storeCheck, tftpCheck, tlsCheck, tokensCheck, type NodeClock } from './checks.js';
import { ClockOffsets, RefusedAgents } from './observed.js';

export interface DoctorRunOptions {
  /** Who asked (`alice`): the power check's action events name them. */
  by: string;
  concurrency?: number;
  requestId?: string;
}

export class Doctor implements Extension {
  readonly name = 'doctor';
  private ctx!: Context;
  private events: EventOwner | null = null;
  private readonly clocks = new ClockOffsets();
  private readonly refused = new RefusedAgents();

  constructor(
    private readonly power: PowerService,
    private readonly build: BuildService,
    private readonly network: ProvisioningNetwork | null,
  ) {}

  async start(ctx: Context): Promise<void> {
    this.ctx = ctx;
    this.events = ctx.events.owner(this.name);
    this.events.on('agent:hello', ({ agentId, msg, at }) => {
      this.refused.cleared(agentId);
      // A new boot's clock may have been set anew: its old samples no longer count.
      this.clocks.forget(agentId);
      this.clocks.record(agentId, msg.at, at, ctx.steady());
    });
    this.events.on('agent:heartbeat', ({ agentId, msg, at }) => {
      if (msg.at !== undefined) this.clocks.record(agentId, msg.at, at, ctx.steady());
    });
    this.events.on('rejected', ({ source, reason, at }) => {
      if (isAgentClient(source)) this.refused.note(source, reason, at, ctx.steady());
    });
  }

  async stop(): Promise<void> {
    this.events?.off();
  }

  /** The checks asked for (all by default), in the catalog's order. */
  async run(only: readonly DoctorCheckId[] | undefined, opts: DoctorRunOptions): Promise<DoctorCheck[]> {
    const wanted = DOCTOR_CHECKS.filter((c) => !only || only.includes(c));
    const checks: DoctorCheck[] = [];
    for (const id of wanted) checks.push(await this.check(id, opts));
    return checks;
  }

  private async check(id: DoctorCheckId, opts: DoctorRunOptions): Promise<DoctorCheck> {
    const { ctx } = this;
    switch (id) {
      case 'store':
        return storeCheck(ctx.health);
      case 'data-dir':
        return this.dataDir();
      case 'tls':
        return tlsCheck(await readCertificate(ctx.config.tls?.cert ?? null), ctx.now());
      case 'dhcp':
        return dhcpCheck(this.network?.dnsmasq() ?? null);
      case 'tftp':
        return tftpCheck(this.network ? await this.network.probeTftp() : null);
      case 'loaders':
        return loadersCheck(this.network ? await this.network.checkLoaders() : null);
      case 'images':
        return imagesCheck(await this.build.verifyImages());
      case 'tokens':
        return tokensCheck({
          store: ctx.store.data.agentTokens.length,
          config: ctx.config.auth.agentTokens.length,
          anonymousAgents: ctx.config.auth.anonymousAgents,
          refused: this.refused.list(ctx.steady()),
        });
      case 'power':
        return this.powerTargets(opts);
      case 'clock':
        return this.agentClocks();
    }
  }

  private async dataDir(): Promise<DoctorCheck> {
    const dir = this.ctx.config.dataDir;
    const [st, fs] = await Promise.all([stat(dir), statfs(dir)]);
    return dataDirCheck({ dir, mode: st.mode & 0o7777, uid: st.uid, ownUid: process.getuid?.() ?? st.uid, freeBytes: fs.bavail * fs.bsize });
  }

  private async powerTargets(opts: DoctorRunOptions): Promise<DoctorCheck> {
    const { nodes } = this.ctx;
    const all = nodes.names();
    const targets = all.filter((n) => nodes.get(n)?.power);
    // A node in the middle of another power action (the power sync, a policy's cycle) is not judged by a refusal.
    const free = targets.filter((n) => !this.power.inFlight(n));
    // Not quiet when the CLI follows progress: each node's result is an `action` event with its request id.
    const results = await this.power.run('status', free, { by: `doctor ${opts.by}`, concurrency: opts.concurrency, requestId: opts.requestId, quiet: opts.requestId === undefined });
    return powerCheck(results, { withoutTarget: all.length - targets.length, inFlight: targets.length - free.length });
  }

  private agentClocks(): DoctorCheck {
    const { nodes, steady } = this.ctx;
    const now = steady();
    const clocks: NodeClock[] = [];
    let bound = 0;
    for (const node of nodes.names()) {
      const agentId = nodes.get(node)?.agentId;
      if (!agentId) continue;
      bound++;
      const offsetMs = this.clocks.offset(agentId, now);
      if (offsetMs !== null) clocks.push({ node, offsetMs });
    }
    return clockCheck(clocks, bound);
  }
}

async function readCertificate(path: string | null): Promise<{ path: string; validTo: number } | { path: string; error: string } | null> {
  if (!path) return null;
  try {
    return { path, validTo: Date.parse(new X509Certificate(await readFile(path)).validTo) };
  } catch (err) {
    return { path, error: (err as Error).message };
  }
}
