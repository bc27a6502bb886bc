import { open } from 'node:fs/promises';

const BLOCK = 64 * 1024;

/**
 * The last `n` lines of a rotated log, reading each file backwards from its end and only as far
 * as needed. `paths` are newest first; missing files are skipped.
 */
export async function readLastLines(paths: readonly string[], n: number): Promise<string[]> {
  if (!Number.isInteger(n) || n < 0) throw new Error(`line count ${n} must be a non-negative integer`);
  if (n === 0) return [];
  const blocks: Buffer[] = []; // newest first
  let newlines = 0;
  let stoppedEarly = false;
  outer: for (const path of paths) {
    const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!handle) continue;
    try {
      let pos = (await handle.stat()).size;
      while (pos > 0) {
        const len = Math.min(BLOCK, pos);
        pos -= len;
        const buf = Buffer.alloc(len);
        await handle.read(buf, 0, len, pos);
        blocks.push(buf);
        for (const b of buf) if (b === 0x0a) newlines++;
        // n + 1 newlines: the n lines after the earliest one are surely whole.
        if (newlines > n) {
          stoppedEarly = true;
          break outer;
        }
      }
    } finally {
      await handle.close();
    }
  }
  let data = Buffer.concat(blocks.reverse());
  if (stoppedEarly) data = data.subarray(data.indexOf(0x0a) + 1); // a cut line, not needed
  const lines = data.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-n);
}
