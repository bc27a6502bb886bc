/**
 * A JSON file written atomically and durably: temp file + fsync + rename + fsync of the directory,
 * so a crash leaves either the old or the new content, never a torn file. Saves are coalesced:
 * while one write is in flight, every further save() shares the single next write, which
 * snapshots the data when it starts (so it includes every change made before the save() call).
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export class JsonFile<T> {
  private writing: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  private seq = 0;

  constructor(
    readonly path: string,
    private readonly snapshot: () => T,
  ) {}

  /** The parsed content, or null when the file does not exist. */
  async read(): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new Error(`${this.path}: not valid JSON: ${(err as Error).message}`);
    }
  }

  save(): Promise<void> {
    if (this.next) return this.next;
    if (!this.writing) return this.startWrite();
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
    this.writing = this.writeAtomic(text).finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  private async writeAtomic(text: string): Promise<void> {
    const tmp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.${++this.seq}.tmp`);
    try {
      const file = await open(tmp, 'w', 0o644);
      try {
        await file.writeFile(text);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new Error(`writing ${this.path} failed: ${(err as Error).message}`);
    }
    // The rename is durable only once the directory entry is on disk.
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
