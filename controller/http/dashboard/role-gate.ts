/// <reference lib="dom" />
/**
 * What the page offers a login: a control needing a role the login lacks is disabled, with why.
 * Only a hint for the person at the screen: the controller checks every request's role itself
 * (shared/verbs/catalog.ts), whatever the page enables.
 */

export interface Identity {
  user: string | null;
  role: string | null;
}

const RANK: Readonly<Record<string, number>> = { viewer: 0, operator: 1, admin: 2 };

/** Why `id` may not do `what`, which needs `needed`; null when it may, or when its role is unknown (the controller decides). */
export function roleBlock(id: Identity, needed: 'operator' | 'admin', what: string): string | null {
  const rank = id.role === null ? undefined : RANK[id.role];
  if (rank === undefined || rank >= RANK[needed]!) return null;
  return `${what} needs an ${needed} login; ${id.user ?? 'this page'} is ${id.role}`;
}

/** Disables `button` with the reason as its title, or enables it. */
export function gate(button: HTMLButtonElement, blocked: string | null): void {
  button.disabled = blocked !== null;
  button.title = blocked ?? '';
}
