/**
 * A site file larger than one MQTT message (the broker refuses payloads over MAX_PAYLOAD_BYTES)
 * arrives in numbered parts; this puts them back together. Parts of an upload that stops coming
 * are dropped after a while, so a CLI killed half-way leaves nothing behind for long.
 */
import { MAX_IMPORT_BYTES } from '../../shared/verbs/args.js';
import { RecordError } from './errors.js';

const ABANDONED_AFTER_MS = 5 * 60_000;

interface Pending {
  parts: Array<string | undefined>;
  received: number;
  bytes: number;
  touched: number;
}

export class Uploads {
  private readonly pending = new Map<string, Pending>();

  /** Add part `part` (0-based) of `parts`; returns the whole text once every part is in, else null. */
  add(id: string, part: number, parts: number, text: string, now: number): string | null {
    for (const [key, p] of this.pending) if (now - p.touched > ABANDONED_AFTER_MS) this.pending.delete(key);
    if (part >= parts) throw new RecordError(`import: part ${part} of an upload of ${parts} parts`);
    const p = this.pending.get(id) ?? { parts: new Array<string | undefined>(parts), received: 0, bytes: 0, touched: now };
    if (p.parts.length !== parts) throw new RecordError(`import: upload ${id} was started with ${p.parts.length} parts, not ${parts}`);
    if (p.parts[part] === undefined) {
      p.parts[part] = text;
      p.received++;
      p.bytes += Buffer.byteLength(text);
    }
    p.touched = now;
    if (p.bytes > MAX_IMPORT_BYTES) {
      this.pending.delete(id);
      throw new RecordError(`import: the file is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MiB`);
    }
    this.pending.set(id, p);
    if (p.received < parts) return null;
    this.pending.delete(id);
    return p.parts.join('');
  }
}
