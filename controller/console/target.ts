/**
 * Helpers the console kinds share to parse their targets (drivers/*.ts; the parser that picks
 * the kind is registry.ts). Pure: no I/O.
 */
import { redactSecrets as redactUrl } from '../auth/redact.js';

/** The target with any URL password replaced by `***`, safe for logs and errors (the shared redactor). */
export { redactUrl };

export function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/** `[::1]` → `::1`: URL keeps IPv6 hosts bracketed, sockets want them bare. */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
