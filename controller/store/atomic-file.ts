import { open, rename, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/** A JSON file's parsed content, or null when it does not exist. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Write a file so that it survives a crash or power loss at any moment: the new content goes to a
 * temp file that is fsynced, renamed over the old one, and the directory fsynced, so a reader sees
 * either the old file or the new one, never a torn one. `content` may be chunks made while the
 * write goes on (sliced JSON). Mode 0600 by default: the store holds BMC credentials.
 */
export async function writeFileAtomic(path: string, content: string | Buffer | AsyncIterable<string>, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', mode);
  try {
    try {
      await writeFile(fh, content); // writes every chunk whole, however many write(2) calls it takes
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    // The temp file may never have been made; the write's own error is the one to report.
    await unlink(tmp).catch(() => {});
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
