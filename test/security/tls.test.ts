/**
 * TLS with a certificate made here (openssl): mqtts://, wss:// and HTTPS accept a client that
 * pins the right CA and refuse one that pins a wrong CA; the agent bundle connects over mqtts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerClient } from '../../cli/client.js';
import { agentBin, fixtureCopy, requireBuild } from '../helpers/controller.js';
import { freePort } from '../helpers/ports.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { rawConnect, startSecureController, type SecureController } from './secure-controller.js';

const tmp = tempDir('muster-tls-');
const pki = (name: string) => join(tmp.dir, name);
let c: SecureController;
let ca: Buffer;
let wrongCa: Buffer;
const procs: Proc[] = [];

/** A CA and a server certificate for localhost / 127.0.0.1 signed by it, plus an unrelated CA. */
function makePki(): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: tmp.dir, stdio: 'pipe' });
  for (const name of ['ca', 'wrong-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=muster test ${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`);
  }
  writeFileSync(pki('san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.cnf', '-out', 'server.pem');
}

beforeAll(async () => {
  requireBuild();
  makePki();
  ca = readFileSync(pki('ca.pem'));
  wrongCa = readFileSync(pki('wrong-ca.pem'));
  c = await startSecureController({ wsPort: await freePort(), httpPort: 0, admin: { host: '127.0.0.1', port: 0, tls: null }, tls: { cert: pki('server.pem'), key: pki('server.key') } }, { ca });
}, 30_000);
afterAll(async () => {
  for (const p of procs) await p.stop();
  await c?.stop();
  tmp.remove();
});

describe('TLS listeners', () => {
  it('serves mqtts:// to a client that pins the CA, and refuses a wrong or missing CA', async () => {
    expect(c.running.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    await expect(c.admin.request('whoami')).resolves.toEqual({ user: 'admin', role: 'admin' });
    const login = (pin?: Buffer) => ControllerClient.connect({ url: c.running.mqttUrl, username: 'admin', password: c.adminPassword, ca: pin, timeoutMs: 5000 });
    await expect(login(wrongCa)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    await expect(login()).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('serves wss:// with the same certificate', async () => {
    expect(c.running.wsUrl).toMatch(/^wss:\/\//);
    const ok = await rawConnect(c.running.wsUrl!, { clientId: 'muster-cli-wss', username: 'admin', password: c.adminPassword, ca });
    expect(ok.connected).toBe(true);
    ok.end(true);
    await expect(rawConnect(c.running.wsUrl!, { clientId: 'muster-cli-wss2', username: 'admin', password: c.adminPassword, ca: wrongCa })).rejects.toThrow(/certificate|self[- ]signed|unable to verify/i);
  });

  it('serves HTTPS on the provisioning and the admin listener', async () => {
    for (const url of [c.running.httpUrl!, c.running.adminUrl!]) {
      expect(url).toMatch(/^https:\/\//);
      const get = (pin: Buffer) => new Promise<number>((resolve, reject) => https.get(`${url}/nothing-here`, { ca: pin }, (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject));
      expect(await get(ca)).toBe(404);
      await expect(get(wrongCa)).rejects.toThrow(/certificate|self[- ]signed|unable to verify/i);
    }
  });

  it('lets the agent bundle connect over mqtts:// with --ca and a token, and not with a wrong CA', async () => {
    const { token } = await c.admin.request('token-create', { note: 'tls test' });
    writeFileSync(pki('token'), `${token}\n`, { mode: 0o600 });
    const port = new URL(c.running.mqttUrl).port;
    const run = (pin: string) => {
      const p = start(process.execPath, [agentBin, '--root', fixtureCopy('odd'), '--controller', `mqtts://localhost:${port}`, '--token-file', pki('token'), '--ca', pki(pin), '--interval', '1']);
      procs.push(p);
      return p;
    };
    const bad = run('wrong-ca.pem');
    await bad.waitFor(/failed: .*(certificate|self[- ]signed|unable to verify)/i, 15_000);
    const good = run('ca.pem');
    await good.waitFor(/connected to mqtts:\/\/localhost:\d+, hello sent as (\S+)/, 15_000);
    expect(good.output()).not.toContain(token);
  });
});
