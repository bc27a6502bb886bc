/**
 * Reads files under a root directory (`/` on a node, a fixture tree in tests). Every reader
 * returns null or an empty list for what is missing or unreadable: a fingerprint is best effort.
 */
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { sanitizeText } from './sanitize.js';

/** sysfs attributes are at most a page; never read more than this from one file. */
const MAX_FILE_BYTES = 64 * 1024;

export class SysRoot {
  constructor(readonly root: string) {}

  path(rel: string): string {
    return join(this.root, rel);
  }

  buffer(rel: string): Buffer | null {
    try {
      const data = readFileSync(this.path(rel));
      return data.length > MAX_FILE_BYTES ? data.subarray(0, MAX_FILE_BYTES) : data;
    } catch {
      return null;
    }
  }

  /** Whole file as UTF-8 (for multi-line files such as /proc/cpuinfo). */
  text(rel: string): string | null {
    return this.buffer(rel)?.toString('utf8') ?? null;
  }

  /** One sanitised line. */
  line(rel: string, max = 256): string | null {
    return sanitizeText(this.buffer(rel), max);
  }

  int(rel: string): number | null {
    const text = this.line(rel, 32);
    if (text === null || !/^-?\d+$/.test(text)) return null;
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : null;
  }

  list(rel: string): string[] {
    try {
      return readdirSync(this.path(rel)).sort();
    } catch {
      return [];
    }
  }

  /** The target of a symlink as written (it may dangle in a fixture), or null. */
  link(rel: string): string | null {
    try {
      return readlinkSync(this.path(rel));
    } catch {
      return null;
    }
  }

  exists(rel: string): boolean {
    try {
      lstatSync(this.path(rel));
      return true;
    } catch {
      return false;
    }
  }
}
