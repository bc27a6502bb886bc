/** LLDP neighbours per NIC from `lldpcli -f json0 show neighbors details` (lldpd's stable JSON form). Pure. */
import type { LldpNeighbour } from '../../shared/protocol.js';
import { sanitizeText } from './sanitize.js';

type Json = Record<string, unknown>;

/** Interface name → neighbour; the first neighbour of an interface wins. Malformed input gives none. */
export function parseLldpcliJson(text: string): Map<string, LldpNeighbour> {
  const neighbours = new Map<string, LldpNeighbour>();
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return neighbours;
  }
  for (const section of list((data as Json | null)?.lldp)) {
    for (const iface of list(section.interface)) {
      const name = value(iface.name);
      const neighbour = neighbourOf(first(iface.chassis), first(iface.port));
      if (name !== null && neighbour !== null && !neighbours.has(name)) neighbours.set(name, neighbour);
    }
  }
  return neighbours;
}

function neighbourOf(chassis: Json | null, port: Json | null): LldpNeighbour | null {
  const chassisId = value(first(chassis?.id)?.value);
  const portIdEntry = first(port?.id);
  const portId = value(portIdEntry?.value);
  if (chassisId === null || portId === null) return null;
  return {
    chassisId,
    portIdType: value(portIdEntry?.type)?.slice(0, 32) ?? 'unknown',
    portId,
    portDescription: value(first(port?.descr)?.value),
    systemName: value(first(chassis?.name)?.value),
  };
}

function list(x: unknown): Json[] {
  return Array.isArray(x) ? x.filter((e): e is Json => typeof e === 'object' && e !== null) : [];
}

function first(x: unknown): Json | null {
  return list(x)[0] ?? null;
}

function value(x: unknown): string | null {
  return typeof x === 'string' ? sanitizeText(x) : null;
}
