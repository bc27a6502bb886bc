import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../controller/auth/passwords.js';
import { redactSecrets } from '../../controller/auth/redact.js';
import { requiredRole } from '../../controller/auth/roles.js';
import { roleAtLeast } from '../../shared/auth.js';
import { newAgentSecret, newAgentToken, tokenHash, tokenId } from '../../controller/auth/tokens.js';
import { Authenticator } from '../../controller/auth/authenticator.js';
import { NewAgentRate } from '../../controller/auth/new-agents.js';
import { emptyStore } from '../../controller/store/schema.js';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { secretHash } from '../../agent/link.js';

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

describe('agent credentials (the bootstrap token introduces; the secret keeps)', () => {
  const agentId = 'mac-525400000001';
  const token = newAgentToken();
  const secret = newAgentSecret();
  const data = emptyStore();
  const auth = new Authenticator({ anonymousAgents: false, anonymousRole: null, agentTokens: [tokenHash(token)] }, () => data, () => 0, { rate: new NewAgentRate(1000, () => 0), onRefused: () => undefined });
  const connect = (password: string, live = false) => auth.authenticate(agentId, agentId, Buffer.from(password), '127.0.0.1', live);
  const withCredential = (confirmedAt: number | null) => {
    data.agents[agentId] = { agentId, firstSeen: 0, lastSeen: 0, bootId: null, fingerprint: simFingerprint(1), node: null, credential: { hash: tokenHash(secret), issuedAt: 0, bootId: 'a'.repeat(32), confirmedAt } };
  };

  it('a new agent id comes in with the token', async () => {
    expect(await connect(token)).toEqual({ ok: true, principal: { kind: 'agent', agentId, proof: 'token' } });
    expect(await connect('ma1.unknown')).toMatchObject({ ok: false, code: 'bad-credentials' });
  });

  it('its own secret lets it in, with or without the token beside it, and takes over its own session', async () => {
    withCredential(1);
    for (const password of [secret, `${secret} ${token}`]) expect(await connect(password, true)).toMatchObject({ ok: true, principal: { proof: 'secret' } });
  });

  it('once the secret is confirmed, the token alone cannot take over the live session', async () => {
    withCredential(1);
    expect(await connect(token, true)).toMatchObject({ ok: false, code: 'not-authorized', reason: expect.stringMatching(/needs that secret, not the bootstrap token/) });
    expect(await connect(`${newAgentSecret()} ${token}`, true)).toMatchObject({ ok: false, code: 'not-authorized' });
    // Not connected: the machine lost its secret (a diskless reboot) and is issued a new one.
    expect(await connect(token, false)).toMatchObject({ ok: true, principal: { proof: 'token' } });
  });

  it('an unconfirmed secret does not lock the token out (the agent may never have received it)', async () => {
    withCredential(null);
    expect(await connect(token, true)).toMatchObject({ ok: true, principal: { proof: 'token' } });
  });

  it('the agent hashes a secret as the controller stores it', () => {
    expect(secretHash(secret)).toBe(tokenHash(secret));
    expect(secret).toMatch(/^ma1\.[A-Za-z0-9_-]{43}$/);
  });
});
