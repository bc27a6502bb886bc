import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../controller/auth/passwords.js';
import { redactSecrets } from '../../controller/auth/redact.js';
import { requiredRole } from '../../controller/auth/roles.js';
import { roleAtLeast } from '../../shared/auth.js';
import { newAgentToken, tokenHash, tokenId } from '../../controller/auth/tokens.js';

describe('role table', () => {
  it('orders roles and fails closed for verbs it does not know', () => {
    expect(roleAtLeast('admin', 'operator')).toBe(true);
    expect(roleAtLeast('viewer', 'operator')).toBe(false);
    expect(requiredRole('nodes', {})).toBe('viewer');
    expect(requiredRole('power', { action: 'status' })).toBe('viewer');
    expect(requiredRole('power', { action: 'cycle' })).toBe('operator');
    expect(requiredRole('export', { showSecrets: true })).toBe('admin');
    expect(requiredRole('naming', {})).toBe('viewer');
    expect(requiredRole('naming', { enabled: true })).toBe('admin');
    expect(requiredRole('a-verb-added-later', {})).toBe('admin');
    expect(requiredRole('__proto__', {})).toBe('admin');
  });
});

describe('passwords', () => {
  it('hashes with a per-user salt and verifies in constant time', async () => {
    const [a, b] = [await hashPassword('correct horse'), await hashPassword('correct horse')];
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct hors', a)).toBe(false);
    expect(await verifyPassword('x', 'not a hash')).toBe(false);
    await expect(hashPassword('short')).rejects.toThrow(/at least 8/);
    expect(() => parsePasswordHash(a.replace('16384', '1024'))).toThrow(/accepts only N=16384/);
  });
});

describe('tokens', () => {
  it('are 256-bit random, stored as SHA-256, named by a short id', () => {
    const t = newAgentToken();
    expect(t).toMatch(/^mt1\.[A-Za-z0-9_-]{43}$/);
    expect(tokenHash(t)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(tokenId(tokenHash(t))).toHaveLength(12);
  });
});

describe('redactSecrets', () => {
  it('hides URL passwords anywhere in a line and secret query values', () => {
    expect(redactSecrets('ipmi://admin:s3cret@10.0.0.5:623')).toBe('ipmi://admin:***@10.0.0.5:623');
    expect(redactSecrets('ipmi://admin:p@ss@bmc/x')).toBe('ipmi://admin:***@bmc/x');
    expect(redactSecrets('sol:ipmi://admin:topsecret@bmc:623')).toBe('sol:ipmi://admin:***@bmc:623');
    expect(redactSecrets('failed: redfish://root:pw@a/Systems/1?insecure=1&token=abc and ipmi://u:v@b')).toBe('failed: redfish://root:***@a/Systems/1?insecure=1&token=*** and ipmi://u:***@b');
    expect(redactSecrets('qemu:///run/vm/n1.sock')).toBe('qemu:///run/vm/n1.sock');
  });
});
