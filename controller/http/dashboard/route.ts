import type http from 'node:http';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Context, Extension } from '../../context.js';
import type { Credentials, DashboardConfig } from './link.js';
import { redactedUrl } from '../../bus/mqtt-bus.js';

export interface DashboardOptions {
  /**
   * The MQTT credentials the page connects with, or null for anonymous; it may look at the request
   * (a session). Without it, config `dashboard.viewer` gives them.
   */
  credentials?: (req: http.IncomingMessage) => DashboardConfig['credentials'];
}

/** The page's own login: config `dashboard.viewer` with its password read from the file. */
interface ViewerLogin {
  user: string;
  password: string;
}

interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The page talks only to its own origin and the broker's WebSocket; mqtt.js keeps its timers in a blob worker.
  'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
};

/**
 * The web dashboard on the controller's admin listener: `/` redirects to `/dashboard/`, which serves
 * the page and its script as `npm run build` made them (read on first request, then kept in
 * memory) and `/dashboard/config.json`, telling the page where the broker's WebSocket is.
 */
export class DashboardRoute implements Extension {
  readonly name = 'dashboard';
  private readonly assets = new Map<string, Promise<Asset>>();
  private viewer: ViewerLogin | null = null;

  constructor(private readonly opts: DashboardOptions = {}) {}

  async start(ctx: Context): Promise<void> {
    const { viewer } = ctx.config.dashboard;
    if (viewer && !this.opts.credentials) {
      this.viewer = { user: viewer.user, password: await readPasswordFile(viewer.passwordFile) };
      const problem = viewerProblem(ctx, viewer.user);
      if (problem) ctx.log.warn(problem);
    }
    const dir = builtDashboardDir();
    if (typeof dir !== 'string') ctx.log.error(dir.problem);
    const load = (file: string) => () => (typeof dir === 'string' ? readFile(join(dir, file)) : Promise.reject(new Error(dir.problem)));
    const sources: Record<string, { type: string; load: () => Promise<Buffer> }> = {
      '/dashboard/': { type: 'text/html; charset=utf-8', load: load('index.html') },
      '/dashboard/style.css': { type: 'text/css; charset=utf-8', load: load('style.css') },
      '/dashboard/app.js': { type: 'text/javascript; charset=utf-8', load: load('app.js') },
    };
    ctx.adminHttp.mount(async (req, res) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/' || path === '/dashboard') {
        res.writeHead(302, { location: '/dashboard/' }).end();
        return true;
      }
      if (path === '/dashboard/config.json') {
        send(req, res, 'application/json', Buffer.from(JSON.stringify(this.config(ctx, req))), null);
        return true;
      }
      const source = sources[path];
      if (!source) return false;
      const asset = await this.asset(path, source.type, source.load).catch((err: Error) => {
        ctx.log.error({ path, err: err.message }, 'dashboard asset failed');
        return null;
      });
      if (!asset) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`dashboard: ${path} could not be read; see the controller log\n`);
        return true;
      }
      send(req, res, asset.type, asset.body, asset.gzipped);
      return true;
    });
  }

  /** Read once and kept; a failed read is forgotten so the next request tries again. */
  private asset(path: string, type: string, load: () => Promise<Buffer>): Promise<Asset> {
    let p = this.assets.get(path);
    if (!p) {
      p = load().then((body) => ({ type, body, gzipped: gzipSync(body) }));
      p.catch(() => this.assets.delete(path));
      this.assets.set(path, p);
    }
    return p;
  }

  private config(ctx: Context, req: http.IncomingMessage): DashboardConfig {
    const { brokers } = ctx.config;
    // External brokers: the page reads the retained states (each published by its node's owner) from one of them.
    const brokerWs = brokers ? ctx.config.dashboard.brokerWs : null;
    const wsPort = brokers ? null : ctx.wsPort;
    const wsProblem =
      brokers && !brokerWs
        ? `the controller uses the external broker ${brokers.map(redactedUrl).join(', ')}: set dashboard.brokerWs to the WebSocket URL of one of them`
        : !brokers && wsPort === null
          ? 'the controller was started without a WebSocket port (--ws-port)'
          : null;
    const login = this.pageLogin(ctx, req);
    const problem = wsProblem ?? ('problem' in login ? login.problem : null);
    return { v: 1, prefix: ctx.topics.prefix, wsPort: problem ? null : wsPort, wsUrl: problem ? null : brokerWs, wsProblem: problem, credentials: 'credentials' in login ? login.credentials : null };
  }

  /**
   * The credentials handed to every visitor. Checked on each request, since users change while the
   * controller runs: a configured user that is missing or more than a viewer is never handed out.
   */
  private pageLogin(ctx: Context, req: http.IncomingMessage): { credentials: Credentials | null } | { problem: string } {
    if (this.opts.credentials) return { credentials: this.opts.credentials(req) };
    if (!this.viewer) return { credentials: null };
    const problem = viewerProblem(ctx, this.viewer.user);
    return problem ? { problem } : { credentials: { username: this.viewer.user, password: this.viewer.password } };
  }
}

/**
 * Where `npm run build` put the page (scripts/build.mjs): beside the bundled controller
 * (`dist/muster.mjs`), or in the repository's dist/ when the controller runs from source.
 */
function builtDashboardDir(here = import.meta.dirname): string | { problem: string } {
  const candidates = [join(here, 'dashboard'), resolve(here, '..', '..', '..', 'dist', 'dashboard')];
  return candidates.find((dir) => existsSync(join(dir, 'app.js'))) ?? { problem: `dashboard: the page is not built (no app.js in ${candidates.join(' or ')}): run npm run build` };
}

function send(req: http.IncomingMessage, res: http.ServerResponse, type: string, body: Buffer, gzipped: Buffer | null): void {
  const gzip = gzipped !== null && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const out = gzip ? gzipped : body;
  res.writeHead(200, {
    'content-type': type,
    'content-length': out.length,
    'cache-control': 'no-cache',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    ...SECURITY_HEADERS,
  });
  res.end(req.method === 'HEAD' ? undefined : out);
}

function viewerProblem(ctx: Context, user: string): string | null {
  const record = Object.hasOwn(ctx.store.data.users, user) ? ctx.store.data.users[user]! : null;
  if (!record) return `dashboard.viewer: user ${user} does not exist (muster user add ${user} --role viewer)`;
  if (record.role !== 'viewer') return `dashboard.viewer: user ${user} is ${record.role}, not viewer; every page visitor gets this login, so it is not handed out`;
  return null;
}

async function readPasswordFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`dashboard.viewer.passwordFile ${path}: ${(err as Error).message}`);
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (!password) throw new Error(`dashboard.viewer.passwordFile ${path}: the first line (the password) is empty`);
  return password;
}
