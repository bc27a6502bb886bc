import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../controller/auth/passwords.js';
import { redactSecrets } from '../../controller/auth/redact.js';
import { requiredRole } from '../../controller/auth/roles.js';
import { roleAtLeast } from '../../shared/auth.js';
import { newAgentSecret, newAgentToken, tokenHash, tokenId } from '../../controller/auth/tokens.js';
import { Authenticator } from '../../controller/auth/authenticator.js';
import { NewAgentRate } from '../../controller/auth/new-agents.js';
import { Reintroductions, reintroductionRefusal, type ClaimedAgent } from '../../controller/auth/reintroduction.js';
import { emptyStore } from '../../controller/store/schema.js';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { secretHash } from '../../agent/link.js';
import { ControllerConfig } from '../../controller/config.js';
import { describeZodError } from '../../shared/protocol.js';

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

const WINDOW = 10 * 60_000;

describe('token re-introduction of a known agent (the rule, with plain data)', () => {
  const credential = (issuedAt: number, confirmedAt: number | null, previousHash: string | null = null) => ({ hash: tokenHash('ma1.current'), issuedAt, bootId: 'b'.repeat(32), confirmedAt, previousHash });
  const bound = (c: ClaimedAgent['credential']): ClaimedAgent => ({ node: 'n1', credential: c });
  const boot = { at: 1_000_000, what: 'DHCP offer 10.0.0.5 (52:54:00:00:00:01)' };

  it('holds only an agent bound to a node that confirmed a secret (or replaced a confirmed one)', () => {
    expect(reintroductionRefusal('a1', { node: null, credential: credential(0, 1) }, null, 5e6, WINDOW)).toBeNull();
    expect(reintroductionRefusal('a1', bound(null), null, 5e6, WINDOW)).toBeNull();
    expect(reintroductionRefusal('a1', bound(credential(0, null)), null, 5e6, WINDOW)).toBeNull();
    expect(reintroductionRefusal('a1', bound(credential(0, null, tokenHash('ma1.old'))), null, 5e6, WINDOW)).toMatch(/^agent a1: token re-introduction refused: no boot of n1 seen by muster in the last 10 min;/);
  });

  it('lets it in from the boot to the end of the window, once', () => {
    const refusal = (now: number, c = credential(0, 1)) => reintroductionRefusal('a1', bound(c), boot, now, WINDOW);
    expect(refusal(boot.at)).toBeNull();
    expect(refusal(boot.at + WINDOW)).toBeNull();
    expect(refusal(boot.at + WINDOW + 1)).toBe(
      'agent a1: token re-introduction refused: no boot of n1 seen by muster in the last 10 min (the last: DHCP offer 10.0.0.5 (52:54:00:00:00:01), 10 min ago); power-cycle it through muster (`muster power cycle n1`) or, after checking the machine, `muster conflict clear n1`',
    );
    // A secret issued after the boot and confirmed used it up; one not confirmed did not (the agent may never have got it).
    expect(refusal(boot.at + 60_000, credential(boot.at + 30_000, boot.at + 31_000))).toMatch(/n1 already came back after its last boot seen by muster \(DHCP offer/);
    expect(refusal(boot.at + 60_000, credential(boot.at + 30_000, null, tokenHash('ma1.old')))).toBeNull();
  });

  it('takes its window from auth.reintroduceWindow: 10 min by default, from 10 s to 1 d', () => {
    expect(ControllerConfig.parse({}).auth.reintroduceWindow).toBe(WINDOW);
    expect(ControllerConfig.parse({ auth: { reintroduceWindow: '3m' } }).auth.reintroduceWindow).toBe(180_000);
    for (const bad of ['5s', '2d', 'soon']) {
      const r = ControllerConfig.safeParse({ auth: { reintroduceWindow: bad } });
      expect(r.success ? 'accepted' : describeZodError(r.error), bad).toMatch(/auth\.reintroduceWindow: (auth\.reintroduceWindow must be between 10s and 1d|duration "soon" must be)/);
    }
  });

  it('keeps the latest evidence per node and the first refusal until the next evidence', () => {
    const r = new Reintroductions(WINDOW);
    const agent = bound(credential(0, 1));
    expect(r.refusal('a1', agent, 10)).toMatch(/no boot of n1/);
    expect(r.noteRefused('n1', { agentId: 'a1', reason: 'first', since: 10 })).toBe(true);
    expect(r.noteRefused('n1', { agentId: 'a1', reason: 'second', since: 20 })).toBe(false);
    expect(r.refusedOn('n1')).toEqual({ agentId: 'a1', reason: 'first', since: 10 });
    r.bootSeen('n1', 'power on (admin alice)', 30);
    expect(r.refusedOn('n1')).toBeNull();
    expect(r.refusal('a1', agent, 30 + WINDOW)).toBeNull();
    r.forget('n1');
    expect(r.refusal('a1', agent, 40)).toMatch(/no boot of n1/);
  });
});

describe('agent credentials (the bootstrap token introduces; the secret keeps)', () => {
  const agentId = 'mac-525400000001';
  const token = newAgentToken();
  const secret = newAgentSecret();
  const data = emptyStore();
  let now = 0;
  const reintroductions = new Reintroductions(WINDOW);
  const auth = new Authenticator({ anonymousAgents: false, anonymousRole: null, agentTokens: [tokenHash(token)] }, () => data, () => now, { rate: new NewAgentRate(1000, () => now), onRefused: () => undefined }, reintroductions);
  const connect = (password: string, live = false) => auth.authenticate(agentId, agentId, Buffer.from(password), '127.0.0.1', live);
  const withCredential = (confirmedAt: number | null, node: string | null = null, previousHash: string | null = null) => {
    data.agents[agentId] = { agentId, firstSeen: 0, lastSeen: 0, bootId: null, fingerprint: simFingerprint(1), node, credential: { hash: tokenHash(secret), issuedAt: 0, bootId: 'a'.repeat(32), confirmedAt, previousHash } };
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
    // Not connected, bound to no node: nothing to take; it is issued a new secret.
    expect(await connect(token, false)).toMatchObject({ ok: true, principal: { proof: 'token' } });
  });

  it("a node's agent comes back with the token only within the window after muster saw the node boot", async () => {
    withCredential(1, 'n1');
    now = 100_000;
    expect(await connect(token)).toMatchObject({ ok: false, code: 'not-authorized', reason: expect.stringMatching(/token re-introduction refused: no boot of n1 seen by muster in the last 10 min; .*muster power cycle n1.*muster conflict clear n1/), claim: { node: 'n1', hold: false } });
    reintroductions.bootSeen('n1', 'power cycle (admin alice)', now);
    now += WINDOW;
    expect(await connect(token)).toMatchObject({ ok: true, principal: { proof: 'token' } });
    now += 1;
    expect(await connect(token)).toMatchObject({ ok: false, reason: expect.stringMatching(/the last: power cycle \(admin alice\), 10 min ago/) });
    // The controller's own token (the demo's simulated agents) needs no evidence.
    auth.allowInternalToken('internal-demo-token');
    expect(await connect('internal-demo-token')).toMatchObject({ ok: true, principal: { proof: 'token' } });
  });

  it("the replaced secret, presented again, is a second claimant: refused and held as a conflict on the node", async () => {
    const old = newAgentSecret();
    withCredential(null, 'n1', tokenHash(old));
    for (const password of [old, `${old} ${token}`]) {
      expect(await connect(password)).toMatchObject({ ok: false, code: 'not-authorized', reason: expect.stringMatching(/two machines claim to be agent mac-525400000001 of n1/), claim: { node: 'n1', hold: true } });
    }
    expect(await connect(secret)).toMatchObject({ ok: true, principal: { proof: 'secret' } });
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
