/**
 * `redfish://user:pass@host[:port]/redfish/v1/Systems/1` (short: `redfish://host/Systems/1`) —
 * a DMTF Redfish ComputerSystem over HTTPS with basic auth. Status reads `PowerState`; actions
 * POST `#ComputerSystem.Reset` with ResetType On / ForceOff / ForceRestart / PowerCycle, to the
 * target the System advertises, after checking `ResetType@Redfish.AllowableValues`.
 * `?insecure=1` (or the node's `insecure` option) accepts a self-signed certificate.
 */
import https from 'node:https';
import type { PowerBackend, PowerDriverFactory, PowerState } from '../driver.js';

declare module '../driver.js' {
  interface DriverOptions {
    /** Accept a self-signed or unknown TLS certificate, like `?insecure=1`. */
    insecure?: boolean;
    /** Trusted CA certificates in PEM, instead of the system's (e.g. the site's BMC CA). */
    ca?: string | string[];
  }
}

type ResetType = 'On' | 'ForceOff' | 'ForceRestart' | 'PowerCycle';

interface ComputerSystem {
  PowerState?: string;
  Actions?: Record<string, { target?: string; 'ResetType@Redfish.AllowableValues'?: string[] } | undefined>;
}

const MAX_BODY = 1024 * 1024;

/** `/Systems/1` → `/redfish/v1/Systems/1`; a full `/redfish/v1/…` path stays as it is. */
function systemPath(pathname: string): string {
  const path = pathname.replace(/\/+$/, '');
  if (path.startsWith('/redfish/v1/Systems/')) return path;
  if (path.startsWith('/Systems/')) return `/redfish/v1${path}`;
  throw new Error(`the path must name a System, e.g. /redfish/v1/Systems/1 or /Systems/1 (got "${pathname || '/'}")`);
}

const toPowerState = (value: string | undefined): PowerState => {
  if (value === 'Off') return 'off';
  // PoweringOff still draws power; Paused is a powered system.
  if (value === 'On' || value === 'PoweringOn' || value === 'PoweringOff' || value === 'Paused') return 'on';
  return 'unknown';
};

export const redfishDriver: PowerDriverFactory = {
  scheme: 'redfish',
  nativeCycleByDefault: false, // PowerCycle is optional in the schema; off → verify → on works everywhere
  params: ['insecure'],
  create({ url, opts }) {
    if (!url.hostname) throw new Error('missing host (expected redfish://user:pass@host/redfish/v1/Systems/1)');
    const system = systemPath(url.pathname);
    const username = url.username ? decodeURIComponent(url.username) : opts.credentials?.username;
    const password = url.password ? decodeURIComponent(url.password) : opts.credentials?.password;
    if (!username || password === undefined) throw new Error('missing user and password (put them in the URL or in the node credentials)');
    const insecureParam = url.searchParams.get('insecure');
    if (insecureParam !== null && !['1', '0', 'true', 'false'].includes(insecureParam)) throw new Error(`insecure= must be 1 or 0, got "${insecureParam}"`);
    const insecure = insecureParam !== null ? insecureParam === '1' || insecureParam === 'true' : opts.insecure === true;
    const auth = 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');

    const request = (method: 'GET' | 'POST', path: string, signal: AbortSignal, body?: unknown): Promise<unknown> =>
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

    const getSystem = async (signal: AbortSignal) => (await request('GET', system, signal)) as ComputerSystem;

    const resetAction = async (type: ResetType, signal: AbortSignal): Promise<void> => {
      const action = (await getSystem(signal)).Actions?.['#ComputerSystem.Reset'];
      const allowed = action?.['ResetType@Redfish.AllowableValues'];
      if (allowed && !allowed.includes(type)) throw new Error(`the BMC does not allow ResetType ${type} (allowed: ${allowed.join(', ') || 'none'})`);
      // The target is usually a path; some BMCs give an absolute URL: keep its path on our host.
      const target = action?.target ? new URL(action.target, 'https://bmc').pathname : `${system}/Actions/ComputerSystem.Reset`;
      await request('POST', target, signal, { ResetType: type });
    };

    const backend: PowerBackend = {
      status: async (signal) => toPowerState((await getSystem(signal)).PowerState),
      on: (signal) => resetAction('On', signal),
      off: (signal) => resetAction('ForceOff', signal),
      reset: (signal) => resetAction('ForceRestart', signal),
      cycle: (signal) => resetAction('PowerCycle', signal),
    };
    return backend;
  },
};

/** The first message of a Redfish error body (`error.@Message.ExtendedInfo[0].Message`), if any. */
function redfishMessage(json: unknown): string {
  const err = (json as { error?: { message?: string; '@Message.ExtendedInfo'?: Array<{ Message?: string }> } } | undefined)?.error;
  const msg = err?.['@Message.ExtendedInfo']?.[0]?.Message ?? err?.message;
  return msg ? `: ${msg}` : '';
}
