/**
 * `muster doctor`'s TLS check on a controller serving mqtts:// with a certificate made here
 * (openssl): one that expires in 3 days fails with the date and the fix; the file renewed for 90
 * days passes (the check reads the file, which the controller reads again at its next start).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { startSecureController, type SecureController } from '../security/secure-controller.js';

const tmp = tempDir('muster-doctor-tls-');
const cert = join(tmp.dir, 'server.pem');
const key = join(tmp.dir, 'server.key');
let c: SecureController;

function selfSigned(days: number): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', String(days), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
}

beforeAll(async () => {
  selfSigned(3);
  c = await startSecureController({ tls: { cert, key } }, { ca: readFileSync(cert) });
});
afterAll(async () => {
  await c?.stop();
  tmp.remove();
});

describe('muster doctor, TLS', () => {
  it('fails a certificate that expires within 14 days, and passes a renewed one', async () => {
    const tls = async () => (await c.admin.request('doctor', { checks: ['tls'] })).checks[0]!;
    expect(await tls()).toMatchObject({ id: 'tls', status: 'fail', detail: expect.stringMatching(new RegExp(`^${cert} expires at \\S+ \\(in 2 days\\)$`)), fix: `renew ${cert} and restart the controller` });
    selfSigned(90);
    expect(await tls()).toMatchObject({ status: 'ok', detail: expect.stringMatching(/valid until \S+ \(89 days\)$/) });
  });
});
