/** The redfish driver against a small DMTF-shaped Redfish service over HTTPS with a self-signed certificate. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PowerError } from '../../controller/power/driver.js';
import { createPowerDriver } from '../../controller/power/registry.js';
import { tempDir } from '../helpers/tmp.js';

const USER = 'root';
const PASSWORD = 'calvin-Secret9';
const RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'];

interface Recorded {
  method: string;
  url: string;
  contentType?: string;
  odataVersion?: string;
  body?: unknown;
}

/** A Redfish service: ServiceRoot and two ComputerSystems; 2 allows only On and ForceOff; `hang` never answers. */
function redfishService(key: string, cert: string) {
  const systems: Record<string, { PowerState: string; allowed: string[] }> = {};
  const requests: Recorded[] = [];
  const reset = () => {
    systems['1'] = { PowerState: 'Off', allowed: RESET_TYPES };
    systems['2'] = { PowerState: 'On', allowed: ['On', 'ForceOff'] };
    requests.length = 0;
  };
  reset();
  const error = (res: import('node:http').ServerResponse, status: number, message: string) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'Base.1.8.GeneralError', message: 'error', '@Message.ExtendedInfo': [{ MessageId: 'Base.1.8.GeneralError', Message: message }] } }));
  };
  const server = https.createServer({ key, cert }, (req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], odataVersion: req.headers['odata-version'] as string | undefined };
      if (raw) rec.body = JSON.parse(raw);
      requests.push(rec);
      if (req.headers.authorization !== 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64')) {
        res.setHeader('WWW-Authenticate', 'Basic realm="redfish"');
        return error(res, 401, 'The authentication credentials included with this message are missing or invalid.');
      }
      const json = (body: unknown) => (res.writeHead(200, { 'Content-Type': 'application/json' }), res.end(JSON.stringify(body)));
      if (req.method === 'GET' && req.url === '/redfish/v1') return json({ '@odata.id': '/redfish/v1', RedfishVersion: '1.15.0', Systems: { '@odata.id': '/redfish/v1/Systems' } });
      if (req.url === '/redfish/v1/Systems/hang') return; // a BMC that never answers
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
  return { server, systems, requests, reset };
}

const tmp = tempDir('muster-redfish-');
let svc: ReturnType<typeof redfishService>;
let cert: string;
let base: string;

beforeAll(async () => {
  const keyFile = join(tmp.dir, 'key.pem');
  const certFile = join(tmp.dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  cert = readFileSync(certFile, 'utf8');
  svc = redfishService(readFileSync(keyFile, 'utf8'), cert);
  await new Promise<void>((resolve) => svc.server.listen(0, '127.0.0.1', resolve));
  base = `127.0.0.1:${(svc.server.address() as AddressInfo).port}`;
});
beforeEach(() => svc.reset());
afterAll(async () => {
  svc.server.closeAllConnections();
  await new Promise((resolve) => svc.server.close(resolve));
  tmp.remove();
});

const fail = (p: Promise<unknown>) => p.then(() => expect.unreachable('it succeeded'), (e: unknown) => e as PowerError);

describe('redfish driver', () => {
  it('refuses a self-signed certificate unless allowed', async () => {
    const err = await fail(createPowerDriver(`redfish://${USER}:${PASSWORD}@${base}/redfish/v1/Systems/1`, 'n020').status());
    expect(err.message).toMatch(/^node n020: redfish power status failed: GET \/redfish\/v1\/Systems\/1: self[- ]signed certificate.*\(use \?insecure=1/);
    expect(svc.requests).toEqual([]); // refused during the TLS handshake, before any credentials were sent
    expect(await createPowerDriver(`redfish://${USER}:${PASSWORD}@${base}/redfish/v1/Systems/1`, 'n020', { insecure: true }).status()).toBe('off');
    expect(await createPowerDriver(`redfish://${USER}:${PASSWORD}@${base}/Systems/1`, 'n020', { ca: cert }).status()).toBe('off');
  });

  it('switches power with well-formed Reset actions (short URL form, credentials from options)', async () => {
    const d = createPowerDriver(`redfish://${base}/Systems/1?insecure=1`, 'n021', { credentials: { username: USER, password: PASSWORD }, pollMs: 10 });
    await d.on();
    expect(svc.systems['1']?.PowerState).toBe('On');
    expect(await d.status()).toBe('on');
    await d.reset();
    await d.off();
    expect(await d.status()).toBe('off');
    await d.on();
    await d.cycle(); // generic: ForceOff, GET until Off, On
    expect(svc.systems['1']?.PowerState).toBe('On');
    const posts = svc.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => (r.body as { ResetType: string }).ResetType)).toEqual(['On', 'ForceRestart', 'ForceOff', 'On', 'ForceOff', 'On']);
    for (const p of posts) expect(p).toMatchObject({ url: '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset', contentType: 'application/json', odataVersion: '4.0' });
    expect(svc.requests.every((r) => r.method === 'POST' || r.url === '/redfish/v1/Systems/1')).toBe(true);
  });

  it('uses PowerCycle when cycling natively, and names a ResetType the BMC does not allow', async () => {
    await createPowerDriver(`redfish://${USER}:${PASSWORD}@${base}/redfish/v1/Systems/1?insecure=1&cycle=native`, 'n022').cycle();
    expect(svc.requests.at(-1)?.body).toEqual({ ResetType: 'PowerCycle' });
    const err = await fail(createPowerDriver(`redfish://${USER}:${PASSWORD}@${base}/redfish/v1/Systems/2?insecure=1`, 'n023').reset());
    expect(err.message).toBe('node n023: redfish power reset failed: the BMC does not allow ResetType ForceRestart (allowed: On, ForceOff)');
    expect(svc.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('a wrong password gives the BMC message without any password', async () => {
    const err = await fail(createPowerDriver(`redfish://${USER}:wrong-${PASSWORD}@${base}/Systems/1?insecure=1`, 'n024').off());
    expect(err.code).toBe('failed');
    expect(err.message).toBe('node n024: redfish power off failed: GET /redfish/v1/Systems/1: HTTP 401 Unauthorized: The authentication credentials included with this message are missing or invalid.');
    expect(err.message).not.toContain(PASSWORD);
  });

  it('a BMC that never answers times out', async () => {
    const t0 = Date.now();
    const err = await fail(createPowerDriver(`redfish://${USER}:${PASSWORD}@${base}/redfish/v1/Systems/hang?insecure=1`, 'n025', { timeoutMs: 300 }).status());
    expect(err.message).toBe('node n025: redfish power status failed: timed out after 300 ms');
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
