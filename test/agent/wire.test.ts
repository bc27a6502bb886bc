import { describe, expect, it } from 'vitest';
import { RECONNECT_BACKOFF } from '../../agent/link.js';
import { backoffDelayMs } from '../../shared/backoff.js';
import { AgentMessages, uptimeClock } from '../../agent/messages.js';
import { keepaliveSeconds } from '../../agent/keepalive.js';
import { AGENT_PHASES, PROTOCOL_VERSION, isBootId, normalizeIbGuid, normalizeMac } from '../../shared/wire.js';
import * as protocol from '../../shared/protocol.js';
import { AgentState, AgentStatus, Heartbeat, Hello, parseMessage } from '../../shared/protocol.js';
import { readFingerprint } from '../../agent/fingerprint/index.js';
import { join } from 'node:path';

describe('agent/wire.ts agrees with shared/protocol.ts (the agent avoids bundling zod)', () => {
  it('has the same protocol version and agent phases', () => {
    expect(PROTOCOL_VERSION).toBe(protocol.PROTOCOL_VERSION);
    expect([...AGENT_PHASES]).toEqual(protocol.AgentPhase.options);
  });

  it.each(['AA-BB-CC-DD-EE-FF', 'aabb.ccdd.eeff', 'aabbccddeeff', ' aa:bb:cc:dd:ee:ff\n', 'aa:bb:cc', 'zz:bb:cc:dd:ee:ff', '00:00:10:87:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:7d:8e:4a'])('normalizeMac(%j)', (raw) => {
    expect(normalizeMac(raw)).toBe(protocol.normalizeMac(raw));
  });

  it.each(['0x0c42a103007d8e4a', '0c42:a103:007d:8e4a', '0c:42:a1:03:00:7d:8e:4a', '0c42', 'xyz'])('normalizeIbGuid(%j)', (raw) => {
    expect(normalizeIbGuid(raw)).toBe(protocol.normalizeIbGuid(raw));
  });

  it.each(['0123abcd', 'ABCDEF01', 'abc', 'f'.repeat(64), 'f'.repeat(65)])('isBootId(%j)', (raw) => {
    expect(isBootId(raw)).toBe(protocol.BootId.safeParse(raw).success);
  });
});

describe('agent messages', () => {
  const fingerprint = readFingerprint(join(import.meta.dirname, '..', 'fixtures', 'two-nics-ib'));
  let monotonic = 0;
  const clock = { ...uptimeClock(42, () => monotonic), now: () => 1_700_000_000_000 };
  const messages = new AgentMessages({ agentId: 'uuid-4c4c4544-0058-4b10-8032-b7c04f514a33', bootId: '0123456789abcdef0123456789abcdef', agentVersion: '0.1.0', fingerprint }, clock);

  it('builds a hello, state and status valid per the schemas', () => {
    const hello = parseMessage(Hello, messages.hello('kernel'));
    expect(hello).toMatchObject({ ok: true, value: { phase: 'kernel', at: 1_700_000_000_000, uptime: 42 } });
    expect(parseMessage(AgentState, messages.state('run'))).toEqual({ ok: true, value: { v: 1, bootId: '0123456789abcdef0123456789abcdef', phase: 'run', at: 1_700_000_000_000 } });
    expect(parseMessage(AgentStatus, messages.status(false))).toEqual({ ok: true, value: { v: 1, bootId: '0123456789abcdef0123456789abcdef', connection: 1, online: false } });
  });

  it('numbers connections: the hello and the will made for the next one carry its number', () => {
    const own = new AgentMessages({ ...messages.facts }, clock);
    expect([own.hello('run').connection, own.status(false).connection]).toEqual([1, 1]);
    own.nextConnection();
    expect([own.hello('run').connection, own.status(false).connection]).toEqual([2, 2]);
  });

  it('tells its heartbeat interval in the hello when it has one', () => {
    expect(messages.hello('run').interval).toBeUndefined();
    const told = new AgentMessages({ ...messages.facts, intervalMs: 60_000 }, clock).hello('run');
    expect(parseMessage(Hello, told)).toMatchObject({ ok: true, value: { interval: 60_000 } });
  });

  it('numbers heartbeats in order and counts uptime on from the boot reading', () => {
    const first = messages.heartbeat('init');
    monotonic += 2500;
    const second = messages.heartbeat('init');
    expect(parseMessage(Heartbeat, first).ok && parseMessage(Heartbeat, second).ok).toBe(true);
    expect([first.seq, second.seq]).toEqual([0, 1]);
    expect([first.uptime, second.uptime]).toEqual([42, 44.5]);
    // The wall clock, for the controller's judgement of clock offsets.
    expect(first.at).toBe(1_700_000_000_000);
  });
});

describe('MQTT keepalive', () => {
  it('is the whole seconds whose 1.5× (when a broker gives up) is at most 2 heartbeat intervals, never under 5 s', () => {
    expect([5000, 30_000, 1000, 100].map(keepaliveSeconds)).toEqual([6, 40, 5, 5]);
    for (const ms of [3750, 5000, 7000, 10_000, 60_000]) expect(keepaliveSeconds(ms) * 1500).toBeLessThanOrEqual(2 * ms);
  });
});

describe('reconnect backoff', () => {
  const reconnectDelayMs = (attempt: number, random: () => number) => backoffDelayMs(attempt, RECONNECT_BACKOFF, random);
  it('grows from 0.5 s to a 30 s cap, with jitter between half and all of the step', () => {
    expect([0, 1, 2, 3].map((n) => reconnectDelayMs(n, () => 1))).toEqual([500, 1000, 2000, 4000]);
    expect(reconnectDelayMs(0, () => 0)).toBe(250);
    expect(reconnectDelayMs(10, () => 1)).toBe(30_000);
    expect(reconnectDelayMs(1000, () => 0)).toBe(15_000);
  });
});
