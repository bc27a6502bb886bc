/**
 * The wire protocol's plain values and normalisers, without zod: the agent imports these (a value
 * import from shared/protocol.ts would bundle all of zod, ~440 KB against its 220 KB budget);
 * protocol.ts builds its schemas on them. test/agent/wire.test.ts checks they agree.
 */
export type AgentPhase = 'build' | 'kernel' | 'init' | 'run';

export const PROTOCOL_VERSION = 1;
export const AGENT_PHASES: readonly AgentPhase[] = ['build', 'kernel', 'init', 'run'];
export const BOOT_ID = /^[0-9a-f]{8,64}$/;
/** An agent's own secret: `ma1.` and 43 base64url characters (256 random bits). */
export const AGENT_SECRET = /^ma1\.[A-Za-z0-9_-]{43}$/;
/** Node names: xCAT style, topic-safe (no `/`, `+`, `#`), starting with a letter. */
export const NODE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
/** The axes of a node's history (`muster history --axis`). */
export const HISTORY_AXES = ['phase', 'liveness', 'admin', 'power', 'agent', 'faults', 'boot', 'action'] as const;
export const NODE_NAME_RULE = 'node name must start with a letter and hold only letters, digits, "_", "." and "-" (max 63)';

export function isAgentPhase(value: unknown): value is AgentPhase {
  return typeof value === 'string' && (AGENT_PHASES as readonly string[]).includes(value);
}

export function isBootId(value: unknown): value is string {
  return typeof value === 'string' && BOOT_ID.test(value);
}

export function isAgentSecret(value: unknown): value is string {
  return typeof value === 'string' && AGENT_SECRET.test(value);
}

/** `AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff`, `aabbccddeeff` → `aa:bb:cc:dd:ee:ff`; null when not a MAC. */
export function normalizeMac(raw: string): string | null {
  const hex = raw.trim().toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length !== 12 || /[^0-9a-f:.\-\s]/i.test(raw.trim())) return null;
  return hex.match(/../g)!.join(':');
}

/** `0x0002c90300012345`, `0002:c903:0001:2345`, `00:02:c9:…` → `0002:c903:0001:2345`; null otherwise. */
export function normalizeIbGuid(raw: string): string | null {
  const hex = raw.trim().toLowerCase().replace(/^0x/, '').replace(/[:.\-]/g, '');
  if (!/^[0-9a-f]{16}$/.test(hex)) return null;
  return hex.match(/..../g)!.join(':');
}
