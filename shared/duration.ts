/** Durations as people write them (the config file, the CLI's `--since`: `30s`, `1.5h`, `2m30s`) and as messages show them. */

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** One number and its unit; a duration is one or more of these. */
const PART = /(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)\s*/y;

/**
 * `500ms`, `90s`, `10m`, `10min`, `1.5h`, `2d`, or several summed (`2m30s`, `1h 30min`) →
 * milliseconds. Throws naming the text when it is not one of those.
 */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '') throw new Error('duration is empty: write it like 500ms, 90s, 10m, 1.5h, 2d or 2m30s');
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    if (!m) throw new Error(`duration "${text}" is not like 500ms, 90s, 10m, 1.5h, 2d or 2m30s`);
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return Math.round(ms);
}

/** 45000 → `45 s`, 600000 → `10 min`, 5400000 → `1 h 30 min`: for messages people read. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.round(ms / 1_000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return s % 60 ? `${min} min ${s % 60} s` : `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  return `${Math.round(h / 24)} d`;
}

/** An instant (ms since the epoch) as ISO-8601 to the second: `2026-12-02T21:24:00Z`. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}
