/**
 * Password guessing: per-source and per-user backoff (fake clock), the bound on concurrent scrypt
 * runs, the only scrypt parameters accepted, and a real controller under a guessing flood from one
 * loopback address while a real user logs in from another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyGate, LoginThrottle, SOURCE_RULE, USER_RULE } from '../../controller/auth/login-limits.js';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../controller/auth/passwords.js';
import { closed, connackCode, rawSocket, startSecureController, type SecureController } from './secure-controller.js';

describe('login throttle (fake clock)', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('lets a source fail a few times, then doubles its wait; other sources are not affected', () => {
    const c = clock();
    const th = new LoginThrottle(c.now);
    for (let i = 0; i < SOURCE_RULE.free; i++) expect(th.begin('10.0.0.9', `u${i}`)).toBeNull();
    expect(th.begin('10.0.0.9', 'admin')).toBe('too many failed logins from 10.0.0.9; next attempt in 1 s');
    expect(th.begin('10.0.0.1', 'admin')).toBeNull();
    c.advance(1000);
    expect(th.begin('10.0.0.9', 'admin')).toBeNull();
    c.advance(1999);
    expect(th.begin('10.0.0.9', 'admin')).toMatch(/next attempt in 1 s/);
    c.advance(1);
    expect(th.begin('10.0.0.9', 'admin')).toBeNull();
    expect(th.begin('10.0.0.9', 'admin')).toMatch(/next attempt in 4 s/);
    c.advance(SOURCE_RULE.forgetAfterMs + 1);
    expect(th.begin('10.0.0.9', 'admin')).toBeNull();
  });

  it('throttles one user across sources, and a correct password clears the user but not the source', () => {
    const c = clock();
    const th = new LoginThrottle(c.now);
    for (let i = 0; i < USER_RULE.free; i++) expect(th.begin(`10.0.1.${i}`, 'vera')).toBeNull();
    expect(th.begin('10.0.2.1', 'vera')).toBe('too many failed logins for "vera"; next attempt in 1 s');
    c.advance(1000);
    expect(th.begin('10.0.2.1', 'vera')).toBeNull();
    th.succeeded('10.0.2.1', 'vera');
    expect(th.begin('10.0.2.2', 'vera')).toBeNull();
    // A source's own failures stay when it logs in with another account: 3 charged, 1 refunded.
    for (let i = 0; i < 3; i++) th.begin('10.0.3.1', `guess${i}`);
    expect(th.begin('10.0.3.1', 'otto')).toBeNull();
    th.succeeded('10.0.3.1', 'otto');
    expect(th.begin('10.0.3.1', 'guess3')).toBeNull();
    expect(th.begin('10.0.3.1', 'guess4')).toMatch(/from 10.0.3.1/);
  });

  it('runs at most 2 tasks at once, queues a bounded number and refuses the rest', async () => {
    const gate = new ConcurrencyGate(2, 1);
    let running = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const task = () =>
      new Promise<string>((resolve) => {
        running++;
        most = Math.max(most, running);
        releases.push(() => {
          running--;
          resolve('done');
        });
      });
    const results = [gate.run(task), gate.run(task), gate.run(task)];
    expect(await gate.run(task)).toBeNull();
    expect(running).toBe(2);
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(running).toBe(2);
    while (releases.length) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(results)).toEqual(['done', 'done', 'done']);
    expect(most).toBe(2);
  });

  it('starts the lowest rank first: a user with a clean record does not wait behind a guesser', async () => {
    const gate = new ConcurrencyGate(1, 10);
    const order: string[] = [];
    let release!: () => void;
    const first = gate.run(() => new Promise<void>((r) => (release = r)));
    const queued = [gate.run(async () => void order.push('guess a'), 5), gate.run(async () => void order.push('guess b'), 6), gate.run(async () => void order.push('user'), 0)];
    release();
    await Promise.all([first, ...queued]);
    expect(order).toEqual(['user', 'guess a', 'guess b']);
  });

  it('keeps reserved slots for rank 0', async () => {
    const gate = new ConcurrencyGate(2, 10, 1);
    const releases: Array<() => void> = [];
    const started: string[] = [];
    const task = (name: string) => () => new Promise<void>((r) => (started.push(name), releases.push(r)));
    const runs = [gate.run(task('guess 1'), 3), gate.run(task('guess 2'), 4)];
    expect(started).toEqual(['guess 1']);
    runs.push(gate.run(task('user'), 0));
    expect(started).toEqual(['guess 1', 'user']);
    while (releases.length) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(runs);
    expect(started).toEqual(['guess 1', 'user', 'guess 2']);
  });
});

describe('scrypt parameters', () => {
  it('accepts only the parameters muster writes; a costly stored hash is refused without running scrypt', async () => {
    const h = await hashPassword('correct horse');
    const costly = h.replace('scrypt$16384$8$1$', 'scrypt$1048576$32$1$');
    expect(() => parsePasswordHash(costly)).toThrow('password hash: N=1048576, r=32, p=1: muster accepts only N=16384, r=8, p=1');
    expect(() => parsePasswordHash(h.replace(/\$([A-Za-z0-9_-]{22})\$/, '$$$1AAAA$$'))).toThrow(/must look like/);
    const t0 = performance.now();
    expect(await verifyPassword('correct horse', costly)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(50);
  });
});

describe('a guessing flood against a real controller', () => {
  let c: SecureController;
  let port: number;
  beforeAll(async () => {
    c = await startSecureController();
    port = c.running.broker!.mqttPort;
  });
  afterAll(async () => {
    await c?.stop();
  });

  /** One login attempt on its own connection; the CONNACK's code. */
  const attempt = async (user: string, password: string, from?: string) => {
    const s = await rawSocket(port, from);
    s.on('error', () => {});
    try {
      return await connackCode(s, user, password);
    } finally {
      s.destroy();
      await closed(s);
    }
  };

  const timedLogin = async () => {
    const t = performance.now();
    const code = await attempt('admin', c.adminPassword);
    return { code, ms: performance.now() - t };
  };
  it('checks at most 5 guesses a second from one source, and a real login from another takes under 1 s (or 3 logins alone)', async () => {
    // Logins alone, for scale: on a loaded machine one scrypt alone can take most of a second.
    const alone = [(await timedLogin()).ms, (await timedLogin()).ms, (await timedLogin()).ms].sort((a, b) => a - b)[1]!;
    const limitMs = Math.max(1000, 3 * alone);
    const codes: number[] = [];
    const t0 = performance.now();
    let next = 0;
    // 200 wrong passwords for admin from 127.0.0.2, 8 connections at a time.
    const guesser = async () => {
      while (next < 200) {
        next++;
        codes.push(await attempt('admin', `guess-${next}-wrong`, '127.0.0.2'));
      }
    };
    const flood = Promise.all(Array.from({ length: 8 }, guesser));
    // The admin logs in from 127.0.0.1 while the flood runs, and again after it.
    const during = await timedLogin();
    await flood;
    const seconds = (performance.now() - t0) / 1000;
    const after = await timedLogin();

    expect(codes).toHaveLength(200);
    const checked = codes.filter((x) => x === 4).length; // bad user name or password: scrypt ran
    const throttled = codes.filter((x) => x === 5).length; // refused before any check
    expect(checked + throttled).toBe(200);
    expect(checked).toBeGreaterThanOrEqual(SOURCE_RULE.free);
    expect(checked / Math.max(1, seconds)).toBeLessThanOrEqual(5);
    expect(during.code).toBe(0);
    expect(during.ms).toBeLessThan(limitMs);
    expect(after.code).toBe(0);
    expect(after.ms).toBeLessThan(limitMs);
  });
});
