/** `muster doctor`'s judgements on given facts, and what it learns from agents over time. */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIN_FREE_BYTES, clockCheck, dataDirCheck, dhcpCheck, failuresByCause, powerCheck, tlsCheck, tokensCheck } from '../../controller/doctor/checks.js';
import { ClockOffsets, REFUSAL_WINDOW_MS, RefusedAgents } from '../../controller/doctor/observed.js';
import { checkLoaders } from '../../controller/network/loaders.js';
import { tempDir } from '../helpers/tmp.js';

const DAY = 24 * 3600_000;

describe('doctor checks', () => {
  it('data directory: mode, owner and free space each fail with their own fix', () => {
    const good = { dir: '/var/lib/muster', mode: 0o700, uid: 998, ownUid: 998, freeBytes: 10 * MIN_FREE_BYTES };
    expect(dataDirCheck(good)).toMatchObject({ status: 'ok', fix: null });
    const bad = dataDirCheck({ ...good, mode: 0o755, uid: 0, freeBytes: MIN_FREE_BYTES / 2 });
    expect(bad.status).toBe('fail');
    expect(bad.detail).toBe('/var/lib/muster: mode 0755 (it holds BMC passwords: 0700); owned by uid 0, the controller runs as uid 998; only 0.5 GiB free (under 1.0 GiB)');
    expect(bad.fix).toBe('chmod 0700 /var/lib/muster; chown -R 998 /var/lib/muster; free space on its filesystem (old console logs, images)');
  });

  it('TLS: not configured is not applicable; expired and expiring soon fail; unreadable fails', () => {
    const now = Date.parse('2026-12-02T00:00:00Z');
    expect(tlsCheck(null, now).status).toBe('skip');
    expect(tlsCheck({ path: 'c.pem', validTo: now + 90 * DAY }, now)).toMatchObject({ status: 'ok', detail: 'c.pem valid until 2027-03-02T00:00:00.000Z (90 days)' });
    expect(tlsCheck({ path: 'c.pem', validTo: now + 3 * DAY }, now)).toMatchObject({ status: 'fail', detail: 'c.pem expires at 2026-12-05T00:00:00.000Z (in 3 days)', fix: 'renew c.pem and restart the controller' });
    expect(tlsCheck({ path: 'c.pem', validTo: now - DAY }, now).detail).toMatch(/expired at 2026-12-01/);
    expect(tlsCheck({ path: 'c.pem', error: 'ENOENT' }, now)).toMatchObject({ status: 'fail', detail: 'c.pem: ENOENT' });
  });

  it('DHCP: not applicable without network:, fails while dnsmasq is not running', () => {
    expect(dhcpCheck(null).status).toBe('skip');
    expect(dhcpCheck({ interface: 'br0', pid: null })).toMatchObject({ status: 'fail', fix: expect.stringContaining('dnsmasq.log') });
    expect(dhcpCheck({ interface: 'br0', pid: 42 })).toMatchObject({ status: 'ok', detail: "muster's dnsmasq runs (pid 42) on br0" });
  });

  it('power: failures are grouped by cause, the largest group first, nodes named', () => {
    const results = [
      { node: 'n1', ok: true, state: 'on' as const, ms: 10 },
      { node: 'n2', ok: false, error: 'node n2: ipmi power status failed: timeout after 10 s', code: 'timeout', ms: 10_000 },
      { node: 'n3', ok: false, error: 'node n3: ipmi power status failed: wrong password', code: 'failed', ms: 50 },
      { node: 'n4', ok: false, error: 'node n4: ipmi power status failed: timeout after 10 s', code: 'timeout', ms: 10_000 },
    ];
    expect(failuresByCause(results)).toEqual([
      { cause: 'ipmi power status failed: timeout after 10 s', nodes: ['n2', 'n4'] },
      { cause: 'ipmi power status failed: wrong password', nodes: ['n3'] },
    ]);
    expect(powerCheck(results, { withoutTarget: 0, inFlight: 0 }).detail).toBe('3 of 4 node(s) did not answer: 2× ipmi power status failed: timeout after 10 s (n2, n4); 1× ipmi power status failed: wrong password (n3)');
    expect(powerCheck([], { withoutTarget: 2, inFlight: 0 })).toMatchObject({ status: 'ok', detail: 'no node has a power target' });
    expect(powerCheck(results.slice(0, 1), { withoutTarget: 0, inFlight: 3 })).toMatchObject({ status: 'ok', detail: '1 node(s) answered a power status query; 3 node(s) busy with another power action (not checked)' });
  });

  it('clocks: an offset over 2 s either way fails, the largest first', () => {
    expect(clockCheck([], 0).detail).toBe('no node is bound to an agent');
    expect(clockCheck([{ node: 'n1', offsetMs: 300 }], 1)).toMatchObject({ status: 'ok', detail: '1 node(s) within 2 s of the controller (largest offset 0.3 s)' });
    const r = clockCheck([{ node: 'n1', offsetMs: 300 }, { node: 'n2', offsetMs: -2500 }, { node: 'n3', offsetMs: 60_000 }], 3);
    expect(r).toMatchObject({ status: 'fail', detail: '2 of 3 node(s) off by more than 2 s: n3 +60.0 s, n2 −2.5 s' });
  });

  it('tokens: a refused agent fails, naming it and the reason', () => {
    expect(tokensCheck({ store: 1, config: 0, anonymousAgents: false, refused: [] }).status).toBe('ok');
    const r = tokensCheck({ store: 1, config: 0, anonymousAgents: false, refused: [{ agentId: 'mac-525400000001', reason: 'agent mac-525400000001: unknown or revoked token', times: 3, last: 0 }] });
    expect(r).toMatchObject({ status: 'fail', detail: '1 agent(s) refused in the last hour: mac-525400000001 (3×, last 1970-01-01T00:00:00.000Z: unknown or revoked token)' });
  });
});

describe('what the doctor observes', () => {
  it('an agent clock offset is the largest recent sample (the least delayed), and ages out', () => {
    const clocks = new ClockOffsets();
    clocks.record('a', 10_000, 10_400, 0); // 400 ms in transit
    clocks.record('a', 20_000, 20_050, 1000);
    expect(clocks.offset('a', 1000)).toBe(-50);
    expect(clocks.offset('a', 1000 + 11 * 60_000)).toBeNull();
    expect(clocks.offset('b', 0)).toBeNull();
  });

  it('refused agents are kept for an hour, and cleared when they connect', () => {
    const refused = new RefusedAgents();
    refused.note('a', 'agent a: unknown or revoked token', 5, 0);
    refused.note('a', 'agent a: unknown or revoked token', 6, 10);
    refused.note('b', 'agent b: no token', 7, 20);
    expect(refused.list(20)).toEqual([
      { agentId: 'a', reason: 'agent a: unknown or revoked token', times: 2, last: 6 },
      { agentId: 'b', reason: 'agent b: no token', times: 1, last: 7 },
    ]);
    refused.cleared('b');
    expect(refused.list(10 + REFUSAL_WINDOW_MS).map((r) => r.agentId)).toEqual(['a']);
    expect(refused.list(11 + REFUSAL_WINDOW_MS)).toEqual([]);
  });
});

describe('iPXE loaders', () => {
  it('are checked against the ipxe package where dpkg recorded them: missing and changed fail', async () => {
    const tmp = tempDir('muster-loaders-');
    try {
      const root = join(tmp.dir, 'ipxe');
      const info = join(tmp.dir, 'info');
      mkdirSync(root);
      mkdirSync(info);
      writeFileSync(join(root, 'undionly.kpxe'), 'bios loader');
      // dpkg's record of another build.
      writeFileSync(join(info, 'ipxe.md5sums'), `00112233445566778899aabbccddeeff  ${root.slice(1)}/undionly.kpxe\n`);
      const r = await checkLoaders(root, info);
      expect(r.problems).toEqual([
        { what: 'undionly.kpxe', problem: `differs from the ipxe package's (md5 ${createHash('md5').update('bios loader').digest('hex')}, dpkg says 00112233445566778899aabbccddeeff)` },
        { what: 'snponly.efi', problem: 'is missing' },
      ]);
      writeFileSync(join(root, 'snponly.efi'), 'efi loader');
      writeFileSync(join(info, 'ipxe.md5sums'), '');
      expect(await checkLoaders(root, info)).toMatchObject({ problems: [], verified: 0 });
    } finally {
      tmp.remove();
    }
  });

  it("Debian's own loaders match the package", async () => {
    const r = await checkLoaders('/usr/lib/ipxe');
    expect(r).toMatchObject({ problems: [], verified: 2 });
  });
});
