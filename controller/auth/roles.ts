/**
 * Which role a request needs, read from the verb catalog (shared/verbs/catalog.ts). Pure: the API
 * server checks it before any handler runs, so a verb cannot forget its own check.
 */
import type { Role } from '../../shared/auth.js';
import { isVerbName, VERBS, type VerbSpec } from '../../shared/verbs/catalog.js';

/**
 * Whether a verb changes the store: every admin verb, and the operator's offline, online and
 * hwlog. Refused while the store cannot be written (power and consoles go on: nothing to store).
 */
export function changesStore(verb: string, needed: Role): boolean {
  return needed === 'admin' || STORE_CHANGING.has(verb);
}
const STORE_CHANGING = new Set(['offline', 'online', 'hwlog-open', 'hwlog-close']);

/**
 * The role `verb` needs with these arguments (parsed ones where the role depends on them). A verb
 * missing from the catalog needs admin (fail closed).
 */
export function requiredRole(verb: string, args: Record<string, unknown> | null): Role {
  if (!isVerbName(verb)) return 'admin';
  const spec: VerbSpec = VERBS[verb];
  return (args && spec.roleFor?.(args)) || spec.role;
}
