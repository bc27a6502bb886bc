import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface RotationOptions {
  /** A file is rotated before a line would take it past this size. */
  maxBytes: number;
  /** Files kept, the live one included: `n.log`, `n.log.1` … `n.log.<files-1>`. */
  files: number;
}

export const DEFAULT_ROTATION: RotationOptions = { maxBytes: 10 * 1024 * 1024, files: 5 };

/** The log's files, newest first. */
export function rotatedPaths(path: string, files: number): string[] {
  return Array.from({ length: files }, (_, i) => (i === 0 ? path : `${path}.${i}`));
}

/**
 * An append-only text log of whole lines with size-based rotation. Appends are queued and written
 * in order by one writer, so callers never wait and lines never interleave.
 */
export class RotatingLog {
  private handle: FileHandle | null = null;
  private size = 0;
  private queue: string[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly rotation: RotationOptions,
    private readonly onError: (err: Error) => void,
  ) {
    const { maxBytes, files } = rotation;
    if (!Number.isInteger(maxBytes) || maxBytes < 256) throw new Error(`console log rotation maxBytes ${maxBytes} must be an integer of at least 256`);
    if (!Number.isInteger(files) || files < 1 || files > 100) throw new Error(`console log rotation files ${files} must be an integer 1-100`);
  }

  /** Queues one line (without its newline). */
  append(line: string): void {
    this.queue.push(`${line}\n`);
    if (this.queue.length === 1) this.writing = this.writing.then(() => this.drain());
  }

  /** Resolves when everything appended so far is in the file. */
  async flush(): Promise<void> {
    await this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle?.close();
    this.handle = null;
  }

  private async drain(): Promise<void> {
    const lines = this.queue;
    this.queue = [];
    try {
      if (!this.handle) await this.openLive();
      let batch: Buffer[] = [];
      let batchBytes = 0;
      for (const line of lines) {
        const bytes = Buffer.from(line, 'utf8');
        if (this.size + batchBytes > 0 && this.size + batchBytes + bytes.length > this.rotation.maxBytes) {
          await this.write(batch);
          await this.rotate();
          batch = [];
          batchBytes = 0;
        }
        batch.push(bytes);
        batchBytes += bytes.length;
      }
      await this.write(batch);
    } catch (err) {
      this.onError(new Error(`console log ${this.path}: ${(err as Error).message}`));
      // The write error is reported above; closing a broken handle may fail the same way.
      await this.handle?.close().catch(() => undefined);
      this.handle = null; // reopened on the next append
    }
  }

  private async openLive(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    this.handle = await open(this.path, 'a', 0o600);
    // Consoles show what is typed at login prompts: readable by the controller's user only, also a
    // file left from before with a wider mode.
    await this.handle.chmod(0o600);
    this.size = (await stat(this.path)).size;
  }

  private async write(batch: Buffer[]): Promise<void> {
    if (batch.length === 0) return;
    const bytes = Buffer.concat(batch);
    await this.handle!.appendFile(bytes);
    this.size += bytes.length;
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = null;
    const paths = rotatedPaths(this.path, this.rotation.files);
    await rm(paths.at(-1)!, { force: true });
    for (let i = paths.length - 1; i > 0; i--) {
      await rename(paths[i - 1]!, paths[i]!).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    await this.openLive();
  }
}
