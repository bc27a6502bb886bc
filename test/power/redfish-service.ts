/**
 * A small DMTF-shaped Redfish service over HTTPS with a self-signed certificate, for the redfish
 * driver's tests: ServiceRoot and ComputerSystems 1 (every ResetType) and 2 (only On and
 * ForceOff); `/Systems/hang` never answers. It records every request.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';

export const REDFISH_USER = 'root';
export const REDFISH_PASSWORD = 'calvin-Secret9';
const RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'];

export interface RedfishRequest {
  method: string;
  url: string;
  contentType?: string;
  odataVersion?: string;
  body?: unknown;
}

export interface RedfishService {
  /** `127.0.0.1:PORT` */
  base: string;
  /** The service's certificate (PEM), for the driver's `ca` option. */
  cert: string;
  systems: Record<string, { PowerState: string; allowed: string[] }>;
  requests: RedfishRequest[];
  /** Requests to `/Systems/hang` whose connection is still open. */
  hanging(): number;
  /** Back to the initial systems and no recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

export async function startRedfishService(): Promise<RedfishService> {
  const tmp = tempDir('muster-redfish-');
  const keyFile = join(tmp.dir, 'key.pem');
  const certFile = join(tmp.dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const key = readFileSync(keyFile, 'utf8');
  const cert = readFileSync(certFile, 'utf8');
  tmp.remove();

  const systems: RedfishService['systems'] = {};
  const requests: RedfishRequest[] = [];
  let hanging = 0;
  const reset = () => {
    systems['1'] = { PowerState: 'Off', allowed: RESET_TYPES };
    systems['2'] = { PowerState: 'On', allowed: ['On', 'ForceOff'] };
    requests.length = 0;
  };
  reset();
  const error = (res: ServerResponse, status: number, message: string) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'Base.1.8.GeneralError', message: 'error', '@Message.ExtendedInfo': [{ MessageId: 'Base.1.8.GeneralError', Message: message }] } }));
  };
  const server = https.createServer({ key, cert }, (req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const rec: RedfishRequest = { method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], odataVersion: req.headers['odata-version'] as string | undefined };
      if (raw) rec.body = JSON.parse(raw);
      requests.push(rec);
      if (req.headers.authorization !== 'Basic ' + Buffer.from(`${REDFISH_USER}:${REDFISH_PASSWORD}`).toString('base64')) {
        res.setHeader('WWW-Authenticate', 'Basic realm="redfish"');
        return error(res, 401, 'The authentication credentials included with this message are missing or invalid.');
      }
      const json = (body: unknown) => (res.writeHead(200, { 'Content-Type': 'application/json' }), res.end(JSON.stringify(body)));
      if (req.method === 'GET' && req.url === '/redfish/v1') return json({ '@odata.id': '/redfish/v1', RedfishVersion: '1.15.0', Systems: { '@odata.id': '/redfish/v1/Systems' } });
      if (req.url === '/redfish/v1/Systems/hang') {
        // A BMC that never answers: the request stays open until the client gives up.
        hanging++;
        res.on('close', () => hanging--);
        return;
      }
      const m = /^\/redfish\/v1\/Systems\/(\w+)(\/Actions\/ComputerSystem\.Reset)?$/.exec(req.url ?? '');
      const sys = m?.[1] ? systems[m[1]] : undefined;
      if (!m || !sys) return error(res, 404, `no resource ${req.url}`);
      const id = `/redfish/v1/Systems/${m[1]}`;
      if (req.method === 'GET' && !m[2]) {
        return json({
          '@odata.type': '#ComputerSystem.v1_20_0.ComputerSystem',
          '@odata.id': id,
          Id: m[1],
          Name: 'Test system',
          PowerState: sys.PowerState,
          Actions: { '#ComputerSystem.Reset': { target: `${id}/Actions/ComputerSystem.Reset`, 'ResetType@Redfish.AllowableValues': sys.allowed } },
        });
      }
      if (req.method === 'POST' && m[2]) {
        const type = (rec.body as { ResetType?: string } | undefined)?.ResetType;
        if (rec.contentType !== 'application/json' || !type || !sys.allowed.includes(type)) return error(res, 400, `bad ResetType ${type}`);
        sys.PowerState = type === 'ForceOff' || type === 'GracefulShutdown' ? 'Off' : 'On';
        res.writeHead(204);
        return res.end();
      }
      error(res, 405, 'method not allowed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    cert,
    systems,
    requests,
    hanging: () => hanging,
    reset,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
