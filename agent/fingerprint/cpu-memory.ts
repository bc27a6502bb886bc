/** CPU model and count from /proc/cpuinfo, memory from /proc/meminfo. */
import { sanitizeText } from './sanitize.js';
import type { SysRoot } from './sysfs.js';

/** The key that names the CPU differs by architecture (x86, arm, mips, ppc). */
const MODEL_KEYS = ['model name', 'Processor', 'cpu model', 'cpu'];

export function readCpu(sys: SysRoot): { model: string | null; count: number } {
  const fields = (sys.text('proc/cpuinfo') ?? '').split('\n').map((line) => {
    const colon = line.indexOf(':');
    return colon < 0 ? null : { key: line.slice(0, colon).trim(), value: line.slice(colon + 1) };
  });
  const count = fields.filter((f) => f?.key === 'processor').length;
  for (const key of MODEL_KEYS) {
    const hit = fields.find((f) => f?.key === key);
    if (hit) return { model: sanitizeText(hit.value), count };
  }
  return { model: null, count };
}

export function readMemoryBytes(sys: SysRoot): number {
  const kib = /^MemTotal:\s+(\d+)\s*kB/m.exec(sys.text('proc/meminfo') ?? '');
  return kib ? Number(kib[1]) * 1024 : 0;
}
