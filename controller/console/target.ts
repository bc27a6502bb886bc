/**
 * Console targets as node attributes spell them (`console=`), parsed into what a driver needs.
 * Pure: no I/O. Errors name the bad target with any password redacted.
 */
import { redactSecrets as redactUrl } from '../auth/redact.js';

export type ConsoleTarget =
  | { kind: 'serial'; path: string; baudRate: number }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'sol'; host: string; port: number; user: string; password: string }
  | { kind: 'sim' };

const DEFAULT_BAUD = 115200;
const DEFAULT_IPMI_PORT = 623;

/**
 * Parses `serial:/dev/ttyS0@115200`, `tcp://host:port`, `sol:` (uses `ipmiUrl`, the node's
 * `ipmi://user:pass@host:port` power target), `sol:ipmi://…` (explicit) or `sim://`.
 */
export function parseConsoleTarget(target: string, opts: { ipmiUrl?: string } = {}): ConsoleTarget {
  const fail = (why: string): never => {
    throw new Error(`console target "${redactUrl(target)}": ${why}`);
  };
  if (target.startsWith('serial:')) {
    const m = /^serial:(\/[^@]+)(?:@(\d+))?$/.exec(target);
    if (!m) return fail('expected serial:/dev/NAME[@BAUD]');
    const baudRate = m[2] === undefined ? DEFAULT_BAUD : Number(m[2]);
    if (baudRate < 50 || baudRate > 4_000_000) return fail(`baud rate ${baudRate} is out of range 50-4000000`);
    return { kind: 'serial', path: m[1]!, baudRate };
  }
  if (target.startsWith('tcp:')) {
    const url = parseUrl(target) ?? fail('expected tcp://HOST:PORT');
    const port = Number(url.port);
    if (!url.hostname || !url.port || (url.pathname !== '' && url.pathname !== '/')) return fail('expected tcp://HOST:PORT');
    return { kind: 'tcp', host: unbracket(url.hostname), port };
  }
  if (target.startsWith('sol:')) {
    const explicit = target.slice('sol:'.length);
    const ipmi = explicit !== '' ? explicit : opts.ipmiUrl;
    if (!ipmi) return fail('sol: needs the node\'s IPMI power target (ipmi://USER:PASS@HOST[:PORT])');
    const url = parseUrl(ipmi);
    if (!url || url.protocol !== 'ipmi:' || !url.hostname) return fail(`"${redactUrl(ipmi)}" is not ipmi://USER:PASS@HOST[:PORT]`);
    if (!url.username) return fail('the IPMI target has no user name');
    return {
      kind: 'sol',
      host: unbracket(url.hostname),
      port: url.port ? Number(url.port) : DEFAULT_IPMI_PORT,
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    };
  }
  if (target === 'sim://' || target === 'sim:') return { kind: 'sim' };
  return fail('unknown kind (expected serial:, tcp://, sol: or sim://)');
}

/** The target with any URL password replaced by `***`, safe for logs and errors (the shared redactor). */
export { redactUrl };

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
