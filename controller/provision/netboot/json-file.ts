/**
 * A JSON file written atomically and durably: temp file + fsync + rename + fsync of the directory,
 * so a crash leaves either the old or the new content, never a torn file. Saves are coalesced:
 * while one write is in flight, every further save() shares the single next write, which
 * snapshots the data when it starts (so it includes every change made before the save() call).
 */
import { readJsonFile, writeFileAtomic } from '../../store/atomic-file.js';

export class JsonFile<T> {
  private writing: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(
    readonly path: string,
    private readonly snapshot: () => T,
  ) {}

  /** The parsed content, or null when the file does not exist. */
  read(): Promise<unknown> {
    return readJsonFile(this.path);
  }

  save(): Promise<void> {
    if (this.next) return this.next;
    if (!this.writing) return this.startWrite();
    // The running write's failure goes to its own callers; the next write starts regardless.
    this.next = this.writing
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.startWrite();
      });
    return this.next;
  }

  private startWrite(): Promise<void> {
    const text = JSON.stringify(this.snapshot(), null, 1) + '\n';
    this.writing = writeFileAtomic(this.path, text)
      .catch((err: Error) => {
        throw new Error(`writing ${this.path} failed: ${err.message}`);
      })
      .finally(() => {
        this.writing = null;
      });
    return this.writing;
  }
}
