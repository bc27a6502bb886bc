/**
 * Nodes fall into a fixed number of partitions by a hash of their name; controllers own
 * partitions, never single nodes, so ownership is a table of PARTITION_COUNT rows whatever the
 * site's size. The hash (32-bit FNV-1a over the name's UTF-8 bytes) and the count are part of the
 * shared data's meaning: every controller of a site must compute the same partition for a node,
 * so neither may change without moving every node.
 */

/** Partitions of a site: enough that 16 controllers each hold ~16 and one dying moves a few percent of the nodes. */
export const PARTITION_COUNT = 256;

/** 32-bit FNV-1a of `text`'s UTF-8 bytes. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The partition a node belongs to: 0 … count-1. */
export function partitionOf(node: string, count = PARTITION_COUNT): number {
  if (!Number.isInteger(count) || count < 1) throw new Error(`partition count ${count} must be a whole number ≥ 1`);
  return fnv1a(node) % count;
}
