/**
 * When the bootstrap token may bring back an agent id that already confirmed a secret of its own.
 * A diskless machine keeps no secret across a reboot and comes back with the token, but so could
 * anyone holding the token. So the token brings a node's agent back only within
 * `auth.reintroduceWindow` after muster's own evidence that the node's machine booted: a power
 * on, cycle or reset muster ran on the node, muster's network boot exchange for one of its MACs
 * (DHCP offer, PXE, TFTP, boot script, kernel, initrd), its installer's report before it reboots
 * into its disk, or an admin's decision (`muster conflict clear`, `muster assign`). One boot
 * brings back one agent: a secret confirmed after the evidence uses it up. An agent id bound to
 * no node is not held to this: there is no node to take, and the token introduces new ids anyway.
 * Pure: records and times in, reasons out.
 */
import { formatDuration } from '../../shared/duration.js';
import type { AgentCredentialRecord } from './records.js';

/** What muster saw or did that starts the node's machine, and when. */
export interface BootSeen {
  at: number;
  /** `power cycle (admin alice)`, `DHCP offer 10.0.0.5`: for the refusal messages. */
  what: string;
}

/** The agent as the store records it: the node it is bound to and its secret. */
export interface ClaimedAgent {
  node: string | null;
  credential: AgentCredentialRecord | null;
}

/** A refused re-introduction, kept per node for `muster conflict clear`. */
export interface RefusedReintroduction {
  agentId: string;
  reason: string;
  since: number;
}

/** Null when the token may (re-)introduce `agentId` now, else why not. */
export function reintroductionRefusal(agentId: string, agent: ClaimedAgent, seen: BootSeen | null, now: number, windowMs: number): string | null {
  const { node, credential } = agent;
  // Never confirmed: the agent may never have received a secret (the token still introduces it).
  if (!node || !credential || (credential.confirmedAt === null && credential.previousHash === null)) return null;
  const remedy = `power-cycle it through muster (\`muster power cycle ${node}\`) or, after checking the machine, \`muster conflict clear ${node}\``;
  if (!seen || now - seen.at > windowMs) {
    return `agent ${agentId}: token re-introduction refused: no boot of ${node} seen by muster in the last ${formatDuration(windowMs)}${seen ? ` (the last: ${seen.what}, ${formatDuration(now - seen.at)} ago)` : ''}; ${remedy}`;
  }
  if (credential.confirmedAt !== null && credential.issuedAt >= seen.at) {
    return `agent ${agentId}: token re-introduction refused: ${node} already came back after its last boot seen by muster (${seen.what}) and stored a new secret; ${remedy}`;
  }
  return null;
}

/**
 * The latest boot evidence per node and the re-introductions refused since. Only nodes' names are
 * keys (the evidence's sources name defined nodes), so it grows with the node table.
 */
export class Reintroductions {
  private readonly seen = new Map<string, BootSeen>();
  private readonly refused = new Map<string, RefusedReintroduction>();

  constructor(readonly windowMs: number) {}

  /** Muster saw `node`'s machine boot, ran the power action that boots it, or an admin vouched for it. */
  bootSeen(node: string, what: string, at: number): void {
    this.seen.set(node, { at, what });
    this.refused.delete(node);
  }

  refusal(agentId: string, agent: ClaimedAgent, now: number): string | null {
    return reintroductionRefusal(agentId, agent, agent.node ? (this.seen.get(agent.node) ?? null) : null, now, this.windowMs);
  }

  /** Remembers the first refusal on `node` until the next evidence, for an admin to decide; false when one is remembered already. */
  noteRefused(node: string, refused: RefusedReintroduction): boolean {
    if (this.refused.has(node)) return false;
    this.refused.set(node, refused);
    return true;
  }

  refusedOn(node: string): RefusedReintroduction | null {
    return this.refused.get(node) ?? null;
  }

  /** The node is gone (undefined). */
  forget(node: string): void {
    this.seen.delete(node);
    this.refused.delete(node);
  }
}
