/**
 * Where the controller's data is kept: the persistence under `Store` and the transition journal.
 *
 * The controller reads its data synchronously, from memory, on every hot path (a heartbeat looks
 * up its node, a verb lists 10,000 nodes): `Store` keeps the whole data in memory, loaded at
 * start, and a backend only loads it once and writes what changes, coalesced. So the choice of
 * backend (a file, PostgreSQL) changes no caller and adds no await to any hot path; only the
 * journal's reads (`history`) are asynchronous, as they are for the file.
 */
import type { Transition } from '../../shared/protocol.js';
import type { StoreData } from './schema.js';

export class StoreLoadError extends Error {}

/** The big maps of `StoreData`, changed at message rate; a change names the records it touches. */
export const SLICED = ['nodes', 'agents'] as const;

/**
 * The records of `nodes` and `agents` a change creates, changes or deletes (null entries are
 * ignored, so a call site can name an optional record directly).
 */
export type Touched = Partial<Record<(typeof SLICED)[number], ReadonlyArray<string | null | undefined>>>;

/** A record another controller changed, read from the database and applied to this one's data. */
export interface RemoteChange {
  /** The database table (`nodes`, `agents`, `settings`…). */
  table: string;
  key: string;
  change: 'created' | 'changed' | 'removed';
}

export interface StoreBackend {
  /** What holds the data, for messages: a file's path, or a database URL with its password masked. */
  readonly where: string;
  /** Files set aside at open (`--new-store`). */
  readonly setAside: readonly string[];
  /**
   * The data, validated; a new, empty store where there is none yet. Throws StoreLoadError. The
   * backend keeps this object and writes from it: it is changed in place, never replaced.
   */
  load(): Promise<StoreData>;
  /** The data is about to change: `touched` names the records of `nodes` and `agents` (none: any record). */
  beforeChange(touched?: Touched): void;
  /** The data changed: a write follows, coalesced. */
  changed(): void;
  /** Resolves when every change made before the call is written; rejects if that write failed. */
  flush(): Promise<void>;
  /** Successful writes so far. */
  readonly writes: number;
  /** The last write error, while the latest write failed; null once one succeeds. */
  readonly error: Error | null;
  /** Told of records other controllers changed, once applied (a backend shared by several controllers). */
  onRemoteChange?(listener: (changes: readonly RemoteChange[]) => void): void;
  /** Writes what is left. */
  close(): Promise<void>;
}

export interface HistoryQuery {
  node?: string;
  axis?: string;
  since?: number;
  limit?: number;
}

/** The transition journal: append-only, read back in the order appended. */
export interface TransitionLog {
  /** Never throws: a failed append is reported through the journal's onError and `error`. */
  append(t: Transition): void;
  /** Matching transitions, oldest first (the newest `limit` of them when a limit is given); `skipped`: unreadable entries. */
  history(q: HistoryQuery): Promise<{ transitions: Transition[]; skipped: number }>;
  /** Resolves once everything appended so far is stored. */
  sync(): Promise<void>;
  /** The last append error, or null once an append succeeds again. */
  readonly error: Error | null;
  close(): Promise<void>;
}
