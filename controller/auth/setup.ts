/**
 * The controller's authentication, assembled from its config: the authenticator the embedded
 * broker calls, the TLS material it listens with, and the view the API server asks "who is this?".
 */
import { readFile } from 'node:fs/promises';
import type { EmbeddedBroker, TlsMaterial } from '../broker/embedded.js';
import { isLoopbackHost } from '../broker/origins.js';
import type { ControllerConfig } from '../config.js';
import type { Store } from '../store/store.js';
import { Authenticator } from './authenticator.js';
import { NewAgentRate } from './new-agents.js';
import type { AuthView, Principal } from './principal.js';
import { Reintroductions } from './reintroduction.js';
import { newAgentToken } from './tokens.js';

/** `onNewAgentRefused`: a token introduced more new agent ids than `limits.newAgentsPerTokenPerMinute` allows. */
export function createAuthenticator(
  config: ControllerConfig,
  store: Store,
  now: () => number,
  onNewAgentRefused: (reason: string) => void,
): { authenticator: Authenticator; internalAgentToken: string; reintroductions: Reintroductions } {
  const rate = new NewAgentRate(config.limits.newAgentsPerTokenPerMinute, now);
  const reintroductions = new Reintroductions(config.auth.reintroduceWindow);
  const authenticator = new Authenticator(config.auth, () => store.data, now, { rate, onRefused: onNewAgentRefused }, reintroductions);
  const internalAgentToken = newAgentToken();
  authenticator.allowInternalToken(internalAgentToken);
  return { authenticator, internalAgentToken, reintroductions };
}

/**
 * Identity with the embedded broker: what it authenticated. With an external broker the controller
 * cannot tell who published a request: it trusts the broker's ACL (`trustExternalBroker`, every
 * request counts as an admin's) or grants only the anonymous role (viewer at most by default).
 */
export function authView(config: ControllerConfig, broker: EmbeddedBroker | null, internalAgentToken: string, reintroductions: Reintroductions): AuthView {
  if (broker) return { who: (clientId) => broker.principalOf(clientId), internalAgentToken, reintroductions };
  // Unnamed: the journal's `by` stays what the client sent.
  const external: Principal = { kind: 'user', name: 'anonymous', role: config.auth.trustExternalBroker ? 'admin' : (config.auth.anonymousRole ?? 'viewer') };
  return { who: () => external, internalAgentToken, reintroductions };
}

/** `key`: where the files are named in the config, for errors (`tls`, `admin.tls`). */
export async function loadTls(tls: ControllerConfig['tls'], key = 'tls'): Promise<TlsMaterial | null> {
  if (!tls) return null;
  const read = async (what: string, path: string) => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new Error(`${key}.${what} ${path}: ${(err as Error).message}`);
    }
  };
  return { cert: await read('cert', tls.cert), key: await read('key', tls.key), ...(tls.ca ? { ca: await read('ca', tls.ca) } : {}) };
}

/**
 * Anonymous operators or admins may exist only where nobody else can connect: every listener (and
 * an external broker) on loopback. Anonymous viewers anywhere else are allowed with a warning.
 */
export function anonymousAccessProblem(config: ControllerConfig): { refuse: boolean; problem: string } | null {
  const role = config.auth.anonymousRole;
  if (!role) return null;
  const exposed = [...new Set([...listeningHosts(config), ...(config.brokers ?? []).map((url) => new URL(url).hostname.replace(/^\[(.*)\]$/, '$1'))])].filter((h) => !isLoopbackHost(h.toLowerCase()));
  if (exposed.length === 0) return null;
  const where = exposed.join(', ');
  if (role === 'viewer') return { refuse: false, problem: `anonymous clients are viewers: anyone who can reach ${where} may read node states, events and consoles` };
  return { refuse: true, problem: `auth.anonymousRole ${role} needs every listener on loopback (host 127.0.0.1 or ::1), not ${where}: anyone who can reach it would be ${role}` };
}

/** The addresses the controller listens on: `host` always, `admin.host` when the admin listener or the WebSocket is on. */
function listeningHosts(config: ControllerConfig): string[] {
  const adminListens = config.admin.port !== null || (!config.brokers && config.wsPort !== null);
  return adminListens ? [config.host, config.admin.host] : [config.host];
}

/**
 * `dashboard.viewer` is handed to every visitor of the admin listener without a login: refused
 * where that listener is on an address nodes reach (every address, or the provisioning one).
 */
export function viewerExposureProblem(config: ControllerConfig): string | null {
  const { admin } = config;
  if (!config.dashboard.viewer || admin.port === null) return null;
  const host = admin.host.toLowerCase();
  if (isLoopbackHost(host)) return null;
  const everywhere = host === '0.0.0.0' || host === '::';
  if (!everywhere && host !== config.host.toLowerCase()) return null;
  return `dashboard.viewer: the admin listener hands this login to every visitor, and on ${admin.host} nodes reach it too: set admin.host to loopback or an address on a network nodes cannot reach`;
}
