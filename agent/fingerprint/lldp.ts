/** The switch port a node is cabled to, when an LLDP daemon left it in ROOT/run/muster/lldp.json. */
import { sanitizeText } from './sanitize.js';
import type { SysRoot } from './sysfs.js';

export function readLldp(sys: SysRoot): { switch: string; port: string } | null {
  const text = sys.text('run/muster/lldp.json');
  if (text === null) return null;
  try {
    const data: unknown = JSON.parse(text);
    if (typeof data !== 'object' || data === null) return null;
    const { switch: sw, port } = data as Record<string, unknown>;
    const swText = typeof sw === 'string' ? sanitizeText(sw) : null;
    const portText = typeof port === 'string' ? sanitizeText(port) : null;
    return swText !== null && portText !== null ? { switch: swText, port: portText } : null;
  } catch {
    return null;
  }
}
