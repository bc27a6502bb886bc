/**
 * Roles and the one table of which role each request verb needs. Pure: the API server checks it
 * before any handler runs, so a verb cannot forget its own check.
 */
import { z } from 'zod';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * Whether a verb changes the store: every admin verb, and the operator's offline, online and
 * hwlog. Refused while the store cannot be written (power and consoles go on: nothing to store).
 */
export function changesStore(verb: string, needed: Role): boolean {
  return needed === 'admin' || STORE_CHANGING.has(verb);
}
const STORE_CHANGING = new Set(['offline', 'online', 'hwlog-open', 'hwlog-close']);

export function roleAtLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** A verb's minimum role, or a function of its arguments where reading and changing share a verb. */
type Requirement = Role | ((args: Record<string, unknown>) => Role);

/**
 * viewer: read and watch. operator: + power, consoles, offline/online, hwlog, policy resume, build.
 * admin: + naming, definitions, assignment, settings, import, images, switches, BIOS, users, tokens.
 */
const VERB_ROLES: Record<string, Requirement> = {
  // viewer
  nodes: 'viewer',
  show: 'viewer',
  history: 'viewer',
  discovered: 'viewer',
  groups: 'viewer',
  'console-tail': 'viewer',
  consoles: 'viewer',
  images: 'viewer',
  'build-status': 'viewer',
  'hwlog-list': 'viewer',
  'switch-list': 'viewer',
  'bios-diff': 'viewer',
  'policy-status': 'viewer',
  whoami: 'viewer',
  summary: 'viewer',
  export: (a) => (a.showSecrets ? 'admin' : 'viewer'),
  naming: (a) => (a.enabled === undefined && a.pattern === undefined ? 'viewer' : 'admin'),
  // operator
  power: (a) => (a.action === 'status' ? 'viewer' : 'operator'),
  'console-attach': 'operator',
  'console-write': 'operator',
  'console-detach': 'operator',
  offline: 'operator',
  online: 'operator',
  'hwlog-open': 'operator',
  'hwlog-close': 'operator',
  'policy-resume': 'operator',
  build: 'operator',
  // admin
  assign: 'admin',
  define: 'admin',
  set: 'admin',
  undefine: 'admin',
  import: 'admin',
  'image-add': 'admin',
  'switch-add': 'admin',
  'switch-port': 'admin',
  'bios-set': 'admin',
  'user-add': 'admin',
  'user-list': 'admin',
  'user-remove': 'admin',
  'user-password': 'admin',
  'token-create': 'admin',
  'token-list': 'admin',
  'token-revoke': 'admin',
};

/** The role `verb` needs with these arguments. A verb missing from the table needs admin (fail closed). */
export function requiredRole(verb: string, args: unknown): Role {
  const req = Object.hasOwn(VERB_ROLES, verb) ? VERB_ROLES[verb]! : 'admin';
  if (typeof req === 'string') return req;
  return req(args !== null && typeof args === 'object' ? (args as Record<string, unknown>) : {});
}
