/**
 * What `muster doctor` learns only by watching over time: agents' clock offsets (from the wall
 * time in their hellos and heartbeats) and agents the broker refused. Both are bounded: a few
 * samples per agent, refusals of the last hour.
 */
import type { RefusedAgent } from './checks.js';

/** Samples kept per agent: the offset is their largest, the one with the least delay in transit. */
const SAMPLES = 8;
/** A sample older than this (steady time) no longer speaks for the agent's clock. */
const SAMPLE_MAX_AGE_MS = 10 * 60_000;
export const REFUSAL_WINDOW_MS = 3600_000;
const MAX_REFUSED_AGENTS = 1000;

/**
 * Agent time − controller receive time: the message's transit only makes it smaller, so the
 * largest of the recent samples is the closest to the true offset (NTP's minimum-delay rule).
 */
export class ClockOffsets {
  private readonly samples = new Map<string, { offsets: number[]; steadyAt: number }>();

  record(agentId: string, agentAt: number, receivedAt: number, steadyAt: number): void {
    const entry = this.samples.get(agentId) ?? { offsets: [], steadyAt };
    entry.offsets.push(agentAt - receivedAt);
    if (entry.offsets.length > SAMPLES) entry.offsets.shift();
    entry.steadyAt = steadyAt;
    this.samples.set(agentId, entry);
  }

  /** The agent's offset in ms, or null without a recent sample. */
  offset(agentId: string, steadyNow: number): number | null {
    const entry = this.samples.get(agentId);
    if (!entry || steadyNow - entry.steadyAt > SAMPLE_MAX_AGE_MS) return null;
    return Math.max(...entry.offsets);
  }

  forget(agentId: string): void {
    this.samples.delete(agentId);
  }
}

/** Agents the broker refused (unknown or revoked token, none where one is needed) in the last hour. */
export class RefusedAgents {
  private readonly byAgent = new Map<string, RefusedAgent & { steadyAt: number }>();

  note(agentId: string, reason: string, at: number, steadyAt: number): void {
    const before = this.byAgent.get(agentId);
    this.byAgent.delete(agentId);
    this.byAgent.set(agentId, { agentId, reason, times: (before?.times ?? 0) + 1, last: at, steadyAt });
    // The oldest goes first (insertion order): a flood of made-up ids cannot grow this.
    if (this.byAgent.size > MAX_REFUSED_AGENTS) this.byAgent.delete(this.byAgent.keys().next().value!);
  }

  /** Agents refused within the window and not connected since. */
  list(steadyNow: number): RefusedAgent[] {
    return [...this.byAgent.values()].filter((r) => steadyNow - r.steadyAt <= REFUSAL_WINDOW_MS).map(({ agentId, reason, times, last }) => ({ agentId, reason, times, last }));
  }

  /** The agent connected since: its token is good now. */
  cleared(agentId: string): void {
    this.byAgent.delete(agentId);
  }
}
