/**
 * How fast one bootstrap token may introduce agent ids the controller has not seen: each new id
 * costs a store record and a `discovered` event, so a token holder inventing ids must not get
 * them for free. A token bucket per token: `perMinute` ids at once, refilled at `perMinute` a
 * minute. Pure, with the clock given, so the rule is tested with plain numbers.
 */
import { tokenId } from './tokens.js';

export class NewAgentRate {
  /** Per token hash: ids left (fractional while refilling) and when that was computed. Keys are known tokens only. */
  private readonly buckets = new Map<string, { left: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  /** Null when the token `hash` may introduce `agentId` (which then counts), else the reason for the refusal. */
  admit(hash: string, agentId: string): string | null {
    const now = this.now();
    const bucket = this.buckets.get(hash) ?? { left: this.perMinute, at: now };
    bucket.left = Math.min(this.perMinute, bucket.left + ((now - bucket.at) * this.perMinute) / 60_000);
    bucket.at = now;
    this.buckets.set(hash, bucket);
    if (bucket.left >= 1) {
      bucket.left -= 1;
      return null;
    }
    const waitS = Math.ceil(((1 - bucket.left) * 60) / this.perMinute);
    return `agent ${agentId}: token ${tokenId(hash)} introduced ${this.perMinute} new agent ids within a minute, the limit (limits.newAgentsPerTokenPerMinute); the next in ${waitS} s`;
  }
}
