import { open, rename, readFile, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { Adapter } from 'lowdb';

/**
 * A lowdb adapter whose writes survive a crash or power loss at any moment: the new content goes
 * to a temp file that is fsynced, renamed over the old one, and the directory fsynced, so a reader
 * sees either the old file or the new one, never a torn one. Mode 0600: the store holds BMC
 * credentials. (lowdb's own JSONFile renames but never fsyncs.)
 */
export class AtomicJsonFile<T> implements Adapter<T> {
  constructor(readonly path: string, private readonly serialize: (data: T) => string = (d) => JSON.stringify(d)) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`${this.path} is not valid JSON (${(err as Error).message})`);
    }
  }

  async write(data: T): Promise<void> {
    await writeFileAtomic(this.path, this.serialize(data));
  }
}

export async function writeFileAtomic(path: string, content: string | Buffer, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
