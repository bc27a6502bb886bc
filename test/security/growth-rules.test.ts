/** The rules that bound what agents can make the controller keep, with plain data and a fake clock. */
import { describe, expect, it } from 'vitest';
import { NewAgentRate } from '../../controller/auth/new-agents.js';
import { DiscoveredAgents, fingerprintRefusal } from '../../controller/identify/discovered-limits.js';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';

const TOKEN_A = `sha256:${'a'.repeat(64)}`;
const TOKEN_B = `sha256:${'b'.repeat(64)}`;

describe('new agent ids per token', () => {
  it('admits perMinute at once, refuses the next naming the token id, the limit and the wait, and refills over the minute', () => {
    let now = 0;
    const rate = new NewAgentRate(3, () => now);
    expect(['mac-1', 'mac-2', 'mac-3'].map((id) => rate.admit(TOKEN_A, id))).toEqual([null, null, null]);
    expect(rate.admit(TOKEN_A, 'mac-4')).toBe('agent mac-4: token aaaaaaaaaaaa introduced 3 new agent ids within a minute, the limit (limits.newAgentsPerTokenPerMinute); the next in 20 s');
    // Another token has its own minute.
    expect(rate.admit(TOKEN_B, 'mac-5')).toBeNull();
    now += 19_999;
    expect(rate.admit(TOKEN_A, 'mac-4')).toMatch(/the next in 1 s/);
    now += 1;
    expect(rate.admit(TOKEN_A, 'mac-4')).toBeNull();
    now += 10 * 60_000;
    expect(['mac-6', 'mac-7', 'mac-8', 'mac-9'].map((id) => rate.admit(TOKEN_A, id) === null)).toEqual([true, true, true, false]);
  });
});

describe('discovered agents', () => {
  it('keeps at most max unbound, forgetting the one whose last hello is oldest; bound or gone entries are dropped first', () => {
    const agents = [
      { agentId: 'mac-old', lastSeen: 1, node: null },
      { agentId: 'mac-bound', lastSeen: 0, node: 'n1' },
      { agentId: 'mac-mid', lastSeen: 2, node: null },
    ];
    const unbound = new Set(['mac-old', 'mac-mid']);
    const d = new DiscoveredAgents(2, agents);
    const hello = (id: string) => {
      unbound.add(id);
      return d.saidHello(id, (x) => unbound.has(x));
    };
    // mac-old says hello again: now mac-mid is the oldest.
    expect(hello('mac-old')).toEqual([]);
    expect(hello('mac-new')).toEqual(['mac-mid']);
    unbound.delete('mac-mid');
    // mac-old was bound by an admin meanwhile: it is dropped, not counted, and nothing is evicted.
    unbound.delete('mac-old');
    expect(hello('mac-newer')).toEqual([]);
    expect(hello('mac-newest')).toEqual(['mac-new']);
  });

  it('refuses a fingerprint over the cap, naming its size and the cap', () => {
    const fp = simFingerprint(1);
    const bytes = Buffer.byteLength(JSON.stringify(fp));
    expect(fingerprintRefusal('mac-1', fp, bytes)).toBeNull();
    expect(fingerprintRefusal('mac-1', fp, bytes - 1)).toBe(`hello of agent mac-1: fingerprint of ${bytes} bytes exceeds the cap of ${bytes - 1} bytes (limits.maxFingerprintBytes)`);
  });
});
