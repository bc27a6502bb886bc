/**
 * A node's runtime record read back from the store at start (the store keeps it unparsed, as
 * `runtime`). One the machine cannot read (a value this muster does not know, a hand edit) starts
 * over as a new node's record but keeps the admin state it had (and an identity conflict): an
 * admin took the node out of service, and only an admin returns it. Fields the record's schema does not know refuse the start,
 * as the store's own do: the next write would drop them.
 */
import { describeZodError } from '../../shared/protocol.js';
import { droppedFields, unknownFieldsProblem } from '../store/unknown-fields.js';
import { NodeRuntimeRecord, newRuntime, type NodeRuntime } from './types.js';

/** What only an admin changes: kept from a record that is otherwise unreadable. */
const AdminFields = NodeRuntimeRecord.pick({ admin: true, reason: true, adminBy: true, adminSince: true, conflict: true });

export type Restored =
  | { record: NodeRuntime; unreadable: null }
  /** `adminKept` false: the admin fields were unreadable too; the caller takes the node offline. */
  | { record: NodeRuntime; unreadable: string; adminKept: boolean };

/** Throws, naming them from `path` on, when the record has fields its schema does not know. */
export function restoreRuntime(node: string, raw: unknown, now: number, path: string): Restored {
  const parsed = NodeRuntimeRecord.safeParse(raw);
  if (parsed.success) {
    const unknown = droppedFields(raw, parsed.data, path);
    if (unknown.length > 0) throw new Error(unknownFieldsProblem(unknown));
    return { record: parsed.data, unreadable: null };
  }
  const admin = AdminFields.safeParse(raw);
  return { record: { ...newRuntime(node, now), ...(admin.success ? admin.data : {}) }, unreadable: describeZodError(parsed.error), adminKept: admin.success };
}
