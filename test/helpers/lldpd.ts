import { execFileSync } from 'node:child_process';
import { start, type Proc } from './proc.js';
import { until } from './wait.js';

export interface SwitchLldpd {
  proc: Proc;
  /** lldpcli against this daemon, inside its namespace. */
  lldpcli(...args: string[]): string;
}

/**
 * Debian's lldpd playing a switch in namespace `ns`: system name `hostname`, interface `iface`
 * advertised as port `port` (subtype local) with `description`, one frame a second so a listener
 * hears it within a test's patience. `socket`'s directory must be reachable by _lldpd (mode 755).
 */
export async function switchLldpd(ns: string, socket: string, opts: { hostname: string; iface: string; port: string; description: string }): Promise<SwitchLldpd> {
  const lldpcli = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, 'lldpcli', '-u', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = start('ip', ['netns', 'exec', ns, 'lldpd', '-d', '-I', opts.iface, '-u', socket, '-O', '/dev/null']);
  await until('the switch lldpd', () => {
    try {
      return lldpcli('show', 'configuration').length > 0;
    } catch {
      return false;
    }
  }, 10_000, 100);
  lldpcli('configure', 'system', 'hostname', opts.hostname);
  lldpcli('configure', 'ports', opts.iface, 'lldp', 'portidsubtype', 'local', opts.port, 'description', opts.description);
  lldpcli('configure', 'lldp', 'tx-interval', '1');
  return { proc, lldpcli };
}
