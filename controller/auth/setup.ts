/**
 * The controller's authentication, assembled from its config: the authenticator the embedded
 * broker calls, the TLS material it listens with, and the view the API server asks "who is this?".
 */
import { readFile } from 'node:fs/promises';
import type { EmbeddedBroker, TlsMaterial } from '../broker/embedded.js';
import type { ControllerConfig } from '../config.js';
import type { Store } from '../store/store.js';
import { Authenticator } from './authenticator.js';
import type { AuthView, Principal } from './principal.js';
import { newAgentToken } from './tokens.js';

export function createAuthenticator(config: ControllerConfig, store: Store, now: () => number): { authenticator: Authenticator; internalAgentToken: string } {
  const authenticator = new Authenticator(config.auth, () => store.data, now);
  const internalAgentToken = newAgentToken();
  authenticator.allowInternalToken(internalAgentToken);
  return { authenticator, internalAgentToken };
}

/**
 * Identity with the embedded broker: what it authenticated. With an external broker the controller
 * cannot tell who published a request: it trusts the broker's ACL (`trustExternalBroker`, every
 * request counts as an admin's) or grants only the anonymous role (viewer at most by default).
 */
export function authView(config: ControllerConfig, broker: EmbeddedBroker | null, internalAgentToken: string): AuthView {
  if (broker) return { who: (clientId) => broker.principalOf(clientId), internalAgentToken };
  // Unnamed: the journal's `by` stays what the client sent.
  const external: Principal = { kind: 'user', name: 'anonymous', role: config.auth.trustExternalBroker ? 'admin' : (config.auth.anonymousRole ?? 'viewer') };
  return { who: () => external, internalAgentToken };
}

export async function loadTls(tls: ControllerConfig['tls']): Promise<TlsMaterial | null> {
  if (!tls) return null;
  const read = async (what: string, path: string) => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new Error(`tls.${what} ${path}: ${(err as Error).message}`);
    }
  };
  return { cert: await read('cert', tls.cert), key: await read('key', tls.key), ...(tls.ca ? { ca: await read('ca', tls.ca) } : {}) };
}
