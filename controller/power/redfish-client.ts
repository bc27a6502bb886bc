/**
 * The HTTPS side of a Redfish BMC, shared by the power driver and the BIOS settings: the System
 * named by a `redfish://` target, basic auth from the URL or the node's credentials, TLS checked
 * against the system's CAs, the site's CA (`ca`) or not at all (`?insecure=1`, `insecure`).
 */
import https from 'node:https';
import type { DriverOptions } from './driver.js';

declare module './driver.js' {
  interface DriverOptions {
    /** Accept a self-signed or unknown TLS certificate, like `?insecure=1`. */
    insecure?: boolean;
    /** Trusted CA certificates in PEM, instead of the system's (e.g. the site's BMC CA). */
    ca?: string | string[];
  }
}

export type RedfishMethod = 'GET' | 'POST' | 'PATCH';

export interface RedfishClient {
  /** The ComputerSystem's path, `/redfish/v1/Systems/1`. */
  readonly system: string;
  /** Sends JSON, resolves to the JSON answer (undefined when empty); an HTTP error names the BMC's own message. */
  request(method: RedfishMethod, path: string, signal: AbortSignal, body?: unknown): Promise<unknown>;
}

const MAX_BODY = 1024 * 1024;

/** `/Systems/1` → `/redfish/v1/Systems/1`; a full `/redfish/v1/…` path stays as it is. */
function systemPath(pathname: string): string {
  const path = pathname.replace(/\/+$/, '');
  if (path.startsWith('/redfish/v1/Systems/')) return path;
  if (path.startsWith('/Systems/')) return `/redfish/v1${path}`;
  throw new Error(`the path must name a System, e.g. /redfish/v1/Systems/1 or /Systems/1 (got "${pathname || '/'}")`);
}

/** Checks the target URL (host, System path, credentials, `insecure=`); throws a plain Error naming what is wrong. */
export function redfishClient(url: URL, opts: DriverOptions): RedfishClient {
  if (!url.hostname) throw new Error('missing host (expected redfish://user:pass@host/redfish/v1/Systems/1)');
  const system = systemPath(url.pathname);
  const username = url.username ? decodeURIComponent(url.username) : opts.credentials?.username;
  const password = url.password ? decodeURIComponent(url.password) : opts.credentials?.password;
  if (!username || password === undefined) throw new Error('missing user and password (put them in the URL or in the node credentials)');
  const insecureParam = url.searchParams.get('insecure');
  if (insecureParam !== null && !['1', '0', 'true', 'false'].includes(insecureParam)) throw new Error(`insecure= must be 1 or 0, got "${insecureParam}"`);
  const insecure = insecureParam !== null ? insecureParam === '1' || insecureParam === 'true' : opts.insecure === true;
  const auth = 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');

  const request = (method: RedfishMethod, path: string, signal: AbortSignal, body?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(
        {
          method,
          host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port || 443,
          path,
          signal,
          rejectUnauthorized: !insecure,
          ca: opts.ca,
          headers: {
            Authorization: auth,
            Accept: 'application/json',
            'OData-Version': '4.0',
            ...(payload !== undefined && { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
            if (text.length > MAX_BODY) req.destroy(new Error(`${method} ${path}: response larger than ${MAX_BODY} bytes`));
          });
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              if (status < 300) return reject(new Error(`${method} ${path}: response is not JSON`));
            }
            if (status >= 200 && status < 300) return resolve(json);
            reject(new Error(`${method} ${path}: HTTP ${status} ${res.statusMessage ?? ''}${redfishMessage(json)}`.trimEnd()));
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        const tls = /certificate|self[- ]signed/i.test(err.message);
        reject(new Error(`${method} ${path}: ${err.message}${tls ? ' (use ?insecure=1 or the node option insecure to accept it)' : ''}`));
      });
      req.end(payload);
    });

  return { system, request };
}

/** The first message of a Redfish error body (`error.@Message.ExtendedInfo[0].Message`), if any. */
function redfishMessage(json: unknown): string {
  const err = (json as { error?: { message?: string; '@Message.ExtendedInfo'?: Array<{ Message?: string }> } } | undefined)?.error;
  const msg = err?.['@Message.ExtendedInfo']?.[0]?.Message ?? err?.message;
  return msg ? `: ${msg}` : '';
}
