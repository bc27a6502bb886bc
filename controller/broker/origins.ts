/**
 * Which web pages may open the broker's WebSocket. A browser lets any page open a WebSocket to any
 * host and sends the page's origin with it: a page on another site must not become a client with
 * the rights of whoever opened it (or of anonymous access). Allowed are the controller's admin
 * listener (the dashboard's), reached by a name it knows it has, and the origins listed in
 * `dashboard.origins`; never the provisioning listener, which serves nodes.
 * Pure: the listener's addresses and names are passed in.
 */
import os from 'node:os';

export interface OwnListener {
  /** `http` or `https`. */
  scheme: string;
  port: number;
  /** Host names and addresses the listener answers to (IPv6 without brackets). */
  hosts: readonly string[];
}

/**
 * True when a WebSocket upgrade with this `Origin` header may proceed. No header: not a browser
 * (browsers always send one with a WebSocket), so the MQTT login alone decides.
 */
export function originAllowed(origin: string | undefined, own: OwnListener | null, configured: readonly string[]): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (configured.some((c) => sameOrigin(c, url))) return true;
  if (!own || `${url.protocol}` !== `${own.scheme}:`) return false;
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return port === own.port && own.hosts.includes(url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase());
}

function sameOrigin(configured: string, url: URL): boolean {
  try {
    return new URL(configured).origin === url.origin;
  } catch {
    return false;
  }
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/**
 * The names a listener on `host` answers to: that host (and `localhost` for loopback), or for a
 * wildcard address the machine's host name, loopback and every interface address.
 */
export function listenerHosts(host: string, machine: { hostname: string; addresses: readonly string[] } = thisMachine()): string[] {
  const h = host.toLowerCase();
  if (h === '0.0.0.0' || h === '::') return [...new Set([...LOOPBACK_NAMES, machine.hostname.toLowerCase(), ...machine.addresses.map((a) => a.toLowerCase())])];
  return isLoopbackHost(h) ? [...new Set([h, ...LOOPBACK_NAMES])] : [h];
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function thisMachine(): { hostname: string; addresses: string[] } {
  const addresses = Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
  return { hostname: os.hostname(), addresses };
}
