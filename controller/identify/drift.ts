/**
 * Drift: how a node's hardware identifiers changed since they were recorded at assignment
 * (a NIC swapped, a board replaced). Reported to people; never blocks identification. Pure.
 */
import { switchPortKey, type Identifiers } from './identifiers.js';

export type DriftField = 'uuid' | 'serial' | 'mac' | 'ib' | 'switch-port';

export interface Drift {
  field: DriftField;
  /** The recorded value; null when there was none. */
  was: string | null;
  /** The value reported now; null when there is none. */
  now: string | null;
}

export function driftOf(recorded: Identifiers, current: Identifiers): Drift[] {
  const drift: Drift[] = [];
  if (recorded.uuid !== current.uuid) drift.push({ field: 'uuid', was: recorded.uuid, now: current.uuid });
  if (recorded.serial !== current.serial) drift.push({ field: 'serial', was: recorded.serial, now: current.serial });
  drift.push(...swapped('mac', recorded.macs, current.macs), ...swapped('ib', recorded.ibGuids, current.ibGuids));
  // LLDP is often absent (a neighbour not yet advertised), so only a different port is drift.
  if (recorded.switchPort && current.switchPort && switchPortKey(recorded.switchPort) !== switchPortKey(current.switchPort)) {
    drift.push({ field: 'switch-port', was: switchPortKey(recorded.switchPort), now: switchPortKey(current.switchPort) });
  }
  return drift;
}

/**
 * One finding per replaced value: a value gone paired with a value new. A value that only
 * appears or only disappears is not drift: the initramfs and the installed OS load different
 * drivers, so the set of visible NICs and HCAs legitimately differs between phases.
 */
function swapped(field: DriftField, was: readonly string[], now: readonly string[]): Drift[] {
  const gone = was.filter((v) => !now.includes(v)).sort();
  const added = now.filter((v) => !was.includes(v)).sort();
  return gone.slice(0, added.length).map((value, k) => ({ field, was: value, now: added[k]! }));
}
