/** The records of a big top-level map still to serialize in one write. */
interface RecordMap {
  map: Record<string, unknown>;
  /** The map's keys when the write began, in order: a record created later waits for the next write. */
  keys: string[];
  /** Index in `keys` of the next record to serialize. */
  at: number;
  /** Captured keys not serialized yet, neither in a slice nor by `preserve()`. */
  pending: Set<string>;
  /** Records serialized by `preserve()` before a change, for when the slices reach them. */
  early: Map<string, string>;
  /** Records written so far (to place the commas). */
  written: number;
}

/**
 * `JSON.stringify(data)`, made in slices so that a big store does not hold the event loop: the
 * records of the `sliced` top-level maps are serialized a slice at a time (a slice ends after
 * `slice.ms` or `slice.records` records, whichever comes first); every other top-level field is
 * serialized at once when the write begins. The text is exactly `JSON.stringify(data)` of the data
 * as it was at the start (same key order), as long as whoever changes a record of a sliced map
 * between slices calls `preserve()` for it first, or `finish()` when it cannot name the records.
 */
export class SlicedJson {
  /** Main-thread time spent serializing, summed over the slices. */
  ms = 0;
  /** The output in order: text, or a map whose records are serialized slice by slice. */
  private readonly parts: Array<string | RecordMap> = [];
  private next = 0;
  private readonly maps = new Map<string, RecordMap>();

  constructor(
    data: object,
    sliced: readonly string[],
    private readonly slice: { ms: number; records: number },
  ) {
    const started = performance.now();
    let text = '{';
    let comma = '';
    for (const [key, value] of Object.entries(data)) {
      if (sliced.includes(key)) {
        const map = value as Record<string, unknown>;
        const keys = Object.keys(map);
        const part: RecordMap = { map, keys, at: 0, pending: new Set(keys), early: new Map(), written: 0 };
        this.parts.push(`${text}${comma}${JSON.stringify(key)}:{`, part);
        this.maps.set(key, part);
        text = '}';
      } else {
        const json = JSON.stringify(value);
        if (json === undefined) continue; // JSON.stringify leaves such a field out too
        text += `${comma}${JSON.stringify(key)}:${json}`;
      }
      comma = ',';
    }
    this.parts.push(`${text}}`);
    this.ms += performance.now() - started;
  }

  /** The text, a slice at a time, yielding to the event loop between slices. */
  async *chunks(): AsyncGenerator<string> {
    while (this.next < this.parts.length) {
      yield this.take(this.slice.records, this.slice.ms);
      await new Promise(setImmediate);
    }
  }

  /** Serialize now, as they are, the named records of map `name` the slices have not reached yet. */
  preserve(name: string, keys: ReadonlyArray<string | null | undefined>): void {
    const part = this.maps.get(name)!;
    const started = performance.now();
    for (const key of keys) if (key != null && part.pending.delete(key)) part.early.set(key, JSON.stringify(part.map[key]));
    this.ms += performance.now() - started;
  }

  /** Serialize all the rest now, for the slices to hand out. */
  finish(): void {
    if (this.next < this.parts.length) this.parts.push(this.take(Infinity, Infinity));
  }

  private take(records: number, ms: number): string {
    const started = performance.now();
    const out: string[] = [];
    let n = 0;
    while (this.next < this.parts.length) {
      const part = this.parts[this.next]!;
      if (typeof part === 'string') {
        out.push(part);
        this.next++;
        continue;
      }
      if (part.at === part.keys.length) {
        this.next++;
        continue;
      }
      if (n > 0 && (n >= records || performance.now() - started >= ms)) break;
      const key = part.keys[part.at++]!;
      const json = part.pending.delete(key) ? JSON.stringify(part.map[key]) : part.early.get(key);
      n++;
      if (json === undefined) continue; // an undefined property: JSON.stringify leaves it out too
      out.push(`${part.written++ > 0 ? ',' : ''}${JSON.stringify(key)}:${json}`);
    }
    this.ms += performance.now() - started;
    return out.join('');
  }
}
