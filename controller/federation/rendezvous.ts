/**
 * Which live controller owns a partition: rendezvous (highest random weight) hashing. Each
 * controller gets a weight per partition from a hash of both; the heaviest owns it. Every
 * controller computes the same answer from the same list of live controllers, with no
 * coordination, and when one dies only its own partitions move (each to the next heaviest), when
 * one joins it takes only partitions it now outweighs.
 */
import { fnv1a } from './partitions.js';

/** The weight of `controller` for `partition`: FNV-1a, then a 32-bit mix so that close ids and numbers spread. */
export function weight(controller: string, partition: number): number {
  let h = fnv1a(`${controller}\u0000${partition}`);
  // murmur3's finalizer: FNV-1a alone leaves ids that differ in their last character too alike.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** The controller that owns `partition` among `controllers`, or null when there is none. Ties go to the smaller id. */
export function ownerOf(partition: number, controllers: readonly string[]): string | null {
  let best: string | null = null;
  let bestWeight = -1;
  for (const c of controllers) {
    const w = weight(c, partition);
    if (w > bestWeight || (w === bestWeight && best !== null && c < best)) {
      best = c;
      bestWeight = w;
    }
  }
  return best;
}

/** Every partition's owner among `controllers`: controller → its partitions, ascending (every controller listed, maybe with none). */
export function shareOut(count: number, controllers: readonly string[]): Map<string, number[]> {
  const out = new Map<string, number[]>(controllers.map((c) => [c, []]));
  for (let p = 0; p < count; p++) {
    const owner = ownerOf(p, controllers);
    if (owner !== null) out.get(owner)!.push(p);
  }
  return out;
}
