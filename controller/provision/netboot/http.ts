/**
 * netboot over HTTP, mounted on the controller's HTTP server:
 *   GET /boot/<mac>.ipxe                        the iPXE script for that machine (from its node's system)
 *   GET|HEAD /images/<name>/kernel|initrd|disk  image files, with single-range Range support
 *   POST /install/<node>/<token>                an installer's report: progress, done or failed (the disk system)
 * Further systems of this kind (disk) answer the same under `/<name>/`: /disk/images/…, /disk/boot/….
 * The handler returns false for any other URL so the server can try its other routes.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { normalizeMac } from '../../../shared/protocol.js';
import type { InstallOutcome, NetbootBuildSystem } from './netboot.js';
import { decideRange } from './range.js';

/** What answers a machine's `/boot/<mac>.ipxe`: a netboot-like system, or one that hands the machine elsewhere (fai). */
export interface ScriptSource {
  /** The prefix the script's own URLs go under (`/disk`); '' for netboot's. */
  readonly urlPrefix: string;
  bootScript(mac: string, node: string | null, baseUrl: string): Promise<string>;
}

export interface NetbootHttpDeps {
  netboot: NetbootBuildSystem;
  /** Systems served under their own prefix (`urlPrefix`, `/disk`). */
  others?: readonly NetbootBuildSystem[];
  /** The system whose script a node's machine gets (default: netboot). */
  scriptSystem?: (node: string) => ScriptSource;
  /** The node a MAC belongs to (the controller's store), or null for an unknown machine. */
  nodeByMac: (mac: string) => { name: string } | null | Promise<{ name: string } | null>;
  /** `http://HOST:PORT` as nodes reach this server; default: from the request's Host header. */
  baseUrl?: string;
  /** Failures worth an operator's attention (a missing image file, a script that cannot render). */
  log?: (message: string) => void;
  /**
   * The node's installer reported, with the node's build detail after it: how far it is
   * (`progress`, `45% writing image to /dev/vda`), its disk written (`done`: it reboots into it
   * now) or why it could not (`failed`).
   */
  onReport?: (node: string, outcome: InstallOutcome, detail: string) => void;
}

const HOST_HEADER = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/;

export function createNetbootHttpHandler(deps: NetbootHttpDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const log = deps.log ?? (() => undefined);
  const systems = new Map([deps.netboot, ...(deps.others ?? [])].map((s) => [s.urlPrefix, s]));
  return (req, res) => {
    const rawPath = (req.url ?? '').split('?')[0]!;
    const first = rawPath.split('/')[1] ?? '';
    const system = systems.get(`/${first}`) ?? deps.netboot;
    const path = system === deps.netboot ? rawPath : rawPath.slice(system.urlPrefix.length);
    const top = path.split('/')[1];
    if (top !== 'boot' && top !== 'images' && !(top === 'install' && system.urlPrefix !== '')) return false;
    const segments = decodeSegments(path);
    if (!segments) {
      send(res, 400, `refused path ${JSON.stringify(rawPath.slice(0, 200))}: no "." or ".." segments, encoded "/" or NUL\n`);
      return true;
    }
    const allowed = top === 'install' ? ['POST'] : ['GET', 'HEAD'];
    if (!allowed.includes(req.method ?? '')) {
      res.setHeader('Allow', allowed.join(', '));
      send(res, 405, `${req.method} not allowed on ${rawPath}\n`);
      return true;
    }
    const done = top === 'boot' ? serveScript(deps, req, res, segments) : top === 'images' ? serveImage(system, deps, req, res, segments) : receiveInstallReport(system, deps, req, res, segments);
    done.catch((err: Error) => {
      log(`netboot: ${req.method} ${rawPath} failed: ${err.message}`);
      if (!res.headersSent) send(res, 500, `netboot: ${err.message}\n`);
      else res.destroy();
    });
    return true;
  };
}

/** Path segments after decoding, or null when one could escape its directory. */
function decodeSegments(rawPath: string): string[] | null {
  const out: string[] = [];
  for (const raw of rawPath.split('/').slice(1)) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (seg === '.' || seg === '..' || /[/\\\0]/.test(seg)) return null;
    out.push(seg);
  }
  return out;
}

async function serveScript(deps: NetbootHttpDeps, req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
  const file = segments.length === 2 ? segments[1]! : '';
  const mac = file.endsWith('.ipxe') ? normalizeMac(file.slice(0, -'.ipxe'.length)) : null;
  if (!mac) return send(res, 404, `no boot script here: expected /boot/<mac>.ipxe\n`);
  const baseUrl = deps.baseUrl ?? baseUrlFromHost(req.headers.host);
  if (!baseUrl) return send(res, 400, 'netboot: no usable Host header and no baseUrl configured\n');
  const node = await deps.nodeByMac(mac);
  const system = node && deps.scriptSystem ? deps.scriptSystem(node.name) : deps.netboot;
  const script = await system.bootScript(mac, node?.name ?? null, baseUrl + system.urlPrefix);
  const body = Buffer.from(script, 'utf8');
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The installer's one-line report: at most 1 KiB of text. */
const MAX_REPORT_BYTES = 1024;

async function receiveInstallReport(system: NetbootBuildSystem, deps: NetbootHttpDeps, req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
  const [, node, token] = segments;
  if (segments.length !== 3 || !node || !token) return send(res, 404, 'expected POST /install/<node>/<token>\n');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REPORT_BYTES) return send(res, 413, `an install report is at most ${MAX_REPORT_BYTES} bytes\n`);
    chunks.push(chunk as Buffer);
  }
  const outcome = await system.installReport(node, token, Buffer.concat(chunks).toString('utf8'));
  if (!outcome) return send(res, 404, `no install of ${node} is waiting for this report\n`);
  deps.onReport?.(node, outcome, (await system.status(node)).detail ?? '');
  send(res, 200, 'recorded\n');
}

async function serveImage(system: NetbootBuildSystem, deps: NetbootHttpDeps, req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
  const [, name, part] = segments;
  if (segments.length !== 3 || (part !== 'kernel' && part !== 'initrd' && part !== 'disk')) return send(res, 404, 'expected /images/<name>/kernel, initrd or disk\n');
  const image = system.image(name!);
  if (!image) return send(res, 404, `image ${name} is not in the catalog\n`);
  const file = image[part];
  if (!file) return send(res, 404, `image ${name} has no disk image\n`);
  const st = await stat(file.path).catch(() => null);
  // The checksum was taken when the image was added; a file changed since must not be served as it.
  if (!st || st.size !== file.size || st.mtimeMs !== file.mtimeMs) {
    deps.log?.(`netboot: image ${name} ${part} ${file.path} is missing or changed since it was added; re-add the image`);
    return send(res, 500, `image ${name} ${part} is missing or changed since it was added\n`);
  }
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ETag: `"${file.sha256}"`,
    'Last-Modified': new Date(file.mtimeMs).toUTCString(),
  };
  const range = decideRange(req.headers.range, file.size);
  if (range.kind === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${file.size}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, file.size - 1];
  headers['Content-Length'] = end - start + 1;
  if (range.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end}/${file.size}`;
  res.writeHead(range.kind === 'partial' ? 206 : 200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(file.path, { start, end });
    stream.on('error', reject);
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

function baseUrlFromHost(host: string | undefined): string | null {
  return host && HOST_HEADER.test(host) ? `http://${host}` : null;
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
