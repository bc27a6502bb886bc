/**
 * Which web pages may use the broker's WebSocket (a page on another site opening
 * ws://controller:8083 from a user's browser), and where anonymous operator or admin access may
 * run at all. Driven against a real controller; the name lists are tested with plain data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { anonymousAccessProblem } from '../../controller/auth/setup.js';
import { listenerHosts, originAllowed } from '../../controller/broker/origins.js';
import { ControllerConfig } from '../../controller/config.js';
import { startController } from '../../controller/controller.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { createLogger } from '../../controller/log.js';
import { tempDir } from '../helpers/tmp.js';
import { startSecureController, type SecureController } from './secure-controller.js';

describe('WebSocket origins on a real controller', () => {
  let c: SecureController;
  beforeAll(async () => {
    // Anonymous viewers, as a wall display would have: the page on another site would get in without an origin check.
    c = await startSecureController({ wsPort: 0, httpPort: 0, admin: { host: '127.0.0.1', port: 0, tls: null }, auth: { anonymousAgents: false, anonymousRole: 'viewer', agentTokens: [], trustExternalBroker: false }, dashboard: { viewer: null, origins: ['https://ctl.example:8443'] } });
  });
  afterAll(async () => {
    await c?.stop();
  });

  /** The upgrade's outcome: 'open' or the HTTP status that refused it. */
  const upgrade = (origin?: string) =>
    new Promise<number | 'open'>((resolve, reject) => {
      const ws = new WebSocket(c.running.wsUrl!, 'mqtt', origin ? { origin } : {});
      ws.once('open', () => {
        ws.terminate();
        resolve('open');
      });
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
    });

  it("refuses a page on another site, and admits the controller's own page, a configured origin and non-browser clients", async () => {
    const adminPort = new URL(c.running.adminUrl!).port;
    expect(await upgrade('http://evil.example')).toBe(403);
    expect(await upgrade(`http://evil.example:${adminPort}`)).toBe(403); // DNS rebinding: the right port under a foreign name
    expect(await upgrade(`http://127.0.0.1:${Number(adminPort) + 1}`)).toBe(403);
    expect(await upgrade('null')).toBe(403);
    // The provisioning listener serves what nodes fetch: a page there is not the dashboard's.
    expect(await upgrade(`http://127.0.0.1:${new URL(c.running.httpUrl!).port}`)).toBe(403);
    expect(await upgrade(`http://127.0.0.1:${adminPort}`)).toBe('open');
    expect(await upgrade(`http://localhost:${adminPort}`)).toBe('open');
    expect(await upgrade('https://ctl.example:8443')).toBe('open');
    expect(await upgrade()).toBe('open');
  });
});

describe('anonymous access', () => {
  it('refuses to start with anonymous admins on a non-loopback listener, before listening', async () => {
    const tmp = tempDir('muster-anon-');
    try {
      const cfg = ControllerConfig.parse({ dataDir: tmp.dir, host: '0.0.0.0', mqttPort: 0, wsPort: null, httpPort: null, admin: { host: '127.0.0.1', port: null, tls: null }, auth: { anonymousRole: 'admin' } });
      await expect(startController(cfg, { log: createLogger({ level: 'silent', pretty: false }), extensions: defaultExtensions })).rejects.toThrow(
        'auth.anonymousRole admin needs every listener on loopback (host 127.0.0.1 or ::1), not 0.0.0.0',
      );
    } finally {
      tmp.remove();
    }
  });

  it('allows anonymous operators and admins on loopback only, and warns for viewers elsewhere', () => {
    const cfg = (host: string, role: 'viewer' | 'operator' | 'admin', broker: string | null = null) => ControllerConfig.parse({ host, brokers: broker === null ? null : [broker], auth: { anonymousRole: role } });
    expect(anonymousAccessProblem(cfg('127.0.0.1', 'admin'))).toBeNull();
    expect(anonymousAccessProblem(cfg('::1', 'operator'))).toBeNull();
    expect(anonymousAccessProblem(cfg('10.1.0.5', 'operator'))).toMatchObject({ refuse: true });
    expect(anonymousAccessProblem(cfg('127.0.0.1', 'admin', 'mqtt://broker.example:1883'))).toMatchObject({ refuse: true, problem: expect.stringContaining('not broker.example') });
    expect(anonymousAccessProblem(cfg('0.0.0.0', 'viewer'))).toEqual({ refuse: false, problem: 'anonymous clients are viewers: anyone who can reach 0.0.0.0 may read node states, events and consoles' });
    expect(anonymousAccessProblem(ControllerConfig.parse({ host: '0.0.0.0' }))).toBeNull();
    // The admin listener (and the WebSocket on its address) counts too.
    expect(anonymousAccessProblem(ControllerConfig.parse({ host: '127.0.0.1', admin: { host: '0.0.0.0' }, auth: { anonymousRole: 'admin' } }))).toMatchObject({ refuse: true, problem: expect.stringContaining('not 0.0.0.0') });
    expect(anonymousAccessProblem(ControllerConfig.parse({ host: '127.0.0.1', admin: { host: '10.1.0.5', port: null }, wsPort: null, auth: { anonymousRole: 'admin' } }))).toBeNull();
  });
});

describe('origin rules', () => {
  it('names a wildcard listener by loopback, the host name and every interface address', () => {
    expect(listenerHosts('0.0.0.0', { hostname: 'Ctl', addresses: ['10.1.0.5', 'fe80::1'] })).toEqual(['localhost', '127.0.0.1', '::1', 'ctl', '10.1.0.5', 'fe80::1']);
    expect(listenerHosts('10.1.0.5')).toEqual(['10.1.0.5']);
    const own = { scheme: 'http', port: 8080, hosts: ['10.1.0.5', 'fe80::1'] };
    expect(originAllowed('http://10.1.0.5:8080', own, [])).toBe(true);
    expect(originAllowed('http://[fe80::1]:8080', own, [])).toBe(true);
    expect(originAllowed('https://10.1.0.5:8080', own, [])).toBe(false);
    expect(originAllowed('http://10.1.0.5', own, [])).toBe(false);
    expect(originAllowed('http://10.1.0.5:8080', null, [])).toBe(false);
    expect(originAllowed('https://ctl.example', null, ['https://ctl.example:443'])).toBe(true);
  });
});
