import { describe, expect, it } from 'vitest';
import { evaluateBreaker, initialBreaker, isFrozen, resumedBreaker } from '../../controller/state/breaker.js';
import { DEFAULT_POLICY, parsePolicyConfig, resolvePolicy } from '../../controller/state/config.js';
import { bootLoop, overduePhase, phaseDeadlineAt } from '../../controller/state/deadlines.js';
import { formatDuration, parseDuration } from '../../shared/duration.js';
import { DAY_MS, nextStep } from '../../controller/state/ladder.js';
import { intervalMismatch, isHeartbeating, livenessAfterSilence, nextSilenceChange } from '../../controller/state/liveness.js';
import type { ActionRecord } from '../../controller/state/types.js';

const MIN = 60_000;

describe('config', () => {
  it('defaults match the documented ones', () => {
    const c = parsePolicyConfig(undefined);
    expect(c.graceMs).toBe(30_000);
    expect(c.base).toEqual(DEFAULT_POLICY);
    expect(c.base.heartbeat).toEqual({ interval: 5_000, suspectAfterMissed: 2, deadAfterMissed: 4 });
    expect(c.base.phaseDeadlines).toEqual({ kernel: 10 * MIN, init: 15 * MIN, build: 60 * MIN });
    expect(c.base.bootLoop).toEqual({ reboots: 3, within: 15 * MIN });
    expect(c.base.ladder).toMatchObject({ maxAttempts: 3, maxActionsPerDay: 6, backoff: 60_000, backoffFactor: 2 });
    expect(c.base.breaker).toEqual({ threshold: 0.2, minNodes: 3, window: 30_000, settle: 10_000 });
  });

  it('durations as seconds or text; `off` switches a deadline off', () => {
    const c = parsePolicyConfig({ grace: '1m', heartbeat: { interval: 2 }, phaseDeadlines: { build: 'off', init: '1.5h' } });
    expect(c.graceMs).toBe(MIN);
    expect(c.base.heartbeat.interval).toBe(2_000);
    expect(c.base.phaseDeadlines).toEqual({ build: null, kernel: 10 * MIN, init: 90 * MIN });
  });

  it('group overrides apply over the global settings, in config-file order', () => {
    const c = parsePolicyConfig({
      ladder: { maxAttempts: 5 },
      groups: { gpu: { phaseDeadlines: { build: '2h' }, dryRun: true }, rack1: { dryRun: false, ladder: { backoff: '5m' } } },
    });
    expect(resolvePolicy(c, [])).toEqual(c.base);
    const both = resolvePolicy(c, ['rack1', 'gpu']);
    expect(both.dryRun).toBe(false); // rack1 comes after gpu in the file
    expect(both.phaseDeadlines.build).toBe(120 * MIN);
    expect(both.ladder).toMatchObject({ maxAttempts: 5, backoff: 5 * MIN, backoffFactor: 2 });
    expect(resolvePolicy(c, ['gpu']).dryRun).toBe(true);
  });

  it('bad settings are refused with the field named', () => {
    expect(() => parsePolicyConfig({ ladder: { maxAtempts: 3 } })).toThrow(/policies config: ladder: Unrecognized key: "maxAtempts"/);
    expect(() => parsePolicyConfig({ breaker: { threshold: 20 } })).toThrow(/breaker.threshold/);
    expect(() => parsePolicyConfig({ grace: '30 parsecs' })).toThrow(/grace: duration "30 parsecs" must be/);
    expect(() => parsePolicyConfig({ groups: { r1: { heartbeat: { deadAfterMissed: 2 } } } })).toThrow(/groups.r1: heartbeat.deadAfterMissed \(2\) must be greater than suspectAfterMissed \(2\)/);
    expect(() => parsePolicyConfig({ ladder: { actionTimeout: '30s' } })).toThrow(/ladder.actionTimeout \(30 s\) must be longer than a power cycle's verify-off wait \(1 min\)/);
    expect(() => parsePolicyConfig({ heartbeat: { interval: '1m' }, groups: { r1: { phaseDeadlines: { kernel: '30s' } } } })).toThrow(/groups.r1: phaseDeadlines.kernel \(30 s\) must be longer than heartbeat.interval \(1 min\)/);
    expect(() => parsePolicyConfig({ groups: { 'a/b': {} } })).toThrow(/groups.a\/b: Invalid key in record/);
  });

  it('durations parse and print', () => {
    expect(['500ms', '30s', '10m', '10min', '2h', '1d'].map(parseDuration)).toEqual([500, 30_000, 600_000, 600_000, 7_200_000, 86_400_000]);
    expect(() => parseDuration('10 minutes')).toThrow('duration "10 minutes" is not like');
    expect([800, 45_000, 600_000, 5_400_000, 3 * DAY_MS].map(formatDuration)).toEqual(['800 ms', '45 s', '10 min', '1 h 30 min', '3 d']);
  });
});

describe('liveness', () => {
  const hb = DEFAULT_POLICY.heartbeat;
  it('suspect after 2 missed intervals, dead after 4', () => {
    expect([9_999, 10_000, 19_999, 20_000].map((t) => livenessAfterSilence(0, t, hb))).toEqual(['alive', 'suspect', 'suspect', 'dead']);
    expect(livenessAfterSilence(0, 30_000, { interval: 10_000, suspectAfterMissed: 3, deadAfterMissed: 6 })).toBe('suspect');
    expect([nextSilenceChange(0, 'alive', hb), nextSilenceChange(0, 'suspect', hb), nextSilenceChange(0, 'dead', hb)]).toEqual([10_000, 20_000, null]);
  });
  it('heartbeating means alive and heard from recently', () => {
    expect(isHeartbeating('alive', 0, 9_000, hb)).toBe(true);
    expect(isHeartbeating('alive', 0, 10_000, hb)).toBe(false);
    expect(isHeartbeating('suspect', 0, 1_000, hb)).toBe(false);
    expect(isHeartbeating('alive', null, 0, hb)).toBe(false);
  });
  it("an agent heartbeating less often than heartbeat.interval is a mismatch; its own interval unknown or shorter is not", () => {
    expect(intervalMismatch(60_000, hb)).toBe("the agent heartbeats every 1 min but heartbeat.interval is 5 s: silence would make it suspect between heartbeats; set heartbeat.interval to the agents' --interval");
    expect([intervalMismatch(undefined, hb), intervalMismatch(5_000, hb), intervalMismatch(1_000, hb)]).toEqual([null, null, null]);
  });
});

describe('deadlines', () => {
  const d = DEFAULT_POLICY.phaseDeadlines;
  it('kernel 10 min, init 15 min, build 60 min; run has none', () => {
    expect(['kernel', 'init', 'build', 'run', 'unknown'].map((p) => phaseDeadlineAt(p as never, 0, d))).toEqual([10 * MIN, 15 * MIN, 60 * MIN, null, null]);
    expect(overduePhase('init', 0, 15 * MIN - 1, d)).toBeNull();
    expect(overduePhase('init', 0, 15 * MIN, d)).toEqual({ phase: 'init', since: 0, limitMs: 15 * MIN, expected: 'reach run' });
  });
  it('boot loop: 3 boots within 15 min', () => {
    const bl = DEFAULT_POLICY.bootLoop;
    expect(bootLoop([0, 5 * MIN, 10 * MIN], 14 * MIN, bl)).toEqual([0, 5 * MIN, 10 * MIN]);
    expect(bootLoop([0, 5 * MIN, 10 * MIN], 15 * MIN, bl)).toBeNull();
    expect(bootLoop([0, 1, 2], 3, { ...bl, reboots: 0 })).toBeNull();
  });
});

describe('ladder', () => {
  const ladder = DEFAULT_POLICY.ladder;
  const done = (action: ActionRecord['action'], startedAt: number, attempt = 1): ActionRecord => ({ action, policy: 'dead-while-online', by: null, attempt, startedAt, finishedAt: startedAt + 1, ok: false, detail: null });

  it('console tail first, then reset, then power cycle, then escalate', () => {
    expect(nextStep({ actions: [], attempts: 0 }, 0, ladder, 0)).toEqual({ kind: 'act', action: 'console-tail', attempt: 1 });
    const tail = [done('console-tail', 0)];
    expect(nextStep({ actions: tail, attempts: 0 }, 0, ladder, 0)).toEqual({ kind: 'act', action: 'reset', attempt: 1 });
    expect(nextStep({ actions: [...tail, done('reset', 0)], attempts: 1 }, 0, ladder, 10 * MIN)).toEqual({ kind: 'act', action: 'power-cycle', attempt: 2 });
    expect(nextStep({ actions: [...tail, done('reset', 0)], attempts: 3 }, 0, ladder, 10 * MIN)).toEqual({ kind: 'escalate', attempts: 3 });
    expect(nextStep({ actions: [], attempts: 0 }, 0, { ...ladder, captureConsole: false }, 0)).toMatchObject({ action: 'reset' });
  });

  it('exponential backoff between corrective actions and at most K per 24 h', () => {
    const history = [done('console-tail', 0), done('reset', 0)];
    expect(nextStep({ actions: history, attempts: 0 }, 0, ladder, 59_999)).toEqual({ kind: 'backoff', until: 60_000, recent: 1 });
    history.push(done('reset', 60_000));
    expect(nextStep({ actions: history, attempts: 0 }, 0, ladder, 100_000)).toEqual({ kind: 'backoff', until: 180_000, recent: 2 });
    const six = Array.from({ length: 6 }, (_, i) => done('reset', i * 3_600_000));
    expect(nextStep({ actions: six, attempts: 0 }, -1, { ...ladder, captureConsole: false }, 10 * 3_600_000)).toEqual({ kind: 'capped', until: DAY_MS, recent: 6 });
    expect(nextStep({ actions: six, attempts: 0 }, -1, { ...ladder, captureConsole: false }, DAY_MS + 1)).toMatchObject({ kind: 'act' });
  });
});

describe('breaker', () => {
  const policy = DEFAULT_POLICY.breaker;
  const members = (silentAt: (number | null)[]) => ({
    size: silentAt.length,
    silent: silentAt.flatMap((s, i) => (s === null ? [] : [{ node: `n${i}`, silentSince: s }])),
  });
  const group = (silent: number, at = 0) => members([...Array(silent).fill(at), ...Array(20 - silent).fill(null)]);

  it('trips above 20% (5 of 20) within the window, not at 3 or 4 of 20', () => {
    expect(evaluateBreaker(initialBreaker(), group(5), policy, 10_000, 0).change).toMatchObject({ change: 'trip', size: 20 });
    expect(evaluateBreaker(initialBreaker(), group(4), policy, 10_000, 0).change).toBeNull();
    expect(evaluateBreaker(initialBreaker(), group(3), policy, 10_000, 0).change).toBeNull();
    expect(evaluateBreaker(initialBreaker(), group(5), policy, 31_000, 0).change).toBeNull(); // too long ago
  });

  it('needs at least 3 nodes: 2 of 5 silent is not a mass silence', () => {
    expect(evaluateBreaker(initialBreaker(), members([0, 0, null, null, null]), policy, 1_000, 0).change).toBeNull();
  });

  it('silences during the grace period count from its end', () => {
    expect(evaluateBreaker(initialBreaker(), group(5, 0), policy, 100_000, 90_000).change).toMatchObject({ change: 'trip' });
  });

  it('recovers under the threshold, then settles for one window; an admin resume forgives older silences', () => {
    const tripped = evaluateBreaker(initialBreaker(), group(5), policy, 10_000, 0).state;
    expect(evaluateBreaker(tripped, group(4), policy, 20_000, 0).change).toBeNull(); // 20% is not under 20%
    const recovered = evaluateBreaker(tripped, group(3), policy, 20_000, 0);
    expect(recovered.change).toMatchObject({ change: 'recover' });
    expect([isFrozen(recovered.state, 49_999), isFrozen(recovered.state, 50_000)]).toEqual([true, false]);
    const resumed = resumedBreaker(20_000);
    expect(isFrozen(resumed, 20_000)).toBe(false);
    expect(evaluateBreaker(resumed, group(5), policy, 21_000, 0).change).toBeNull();
  });
});
