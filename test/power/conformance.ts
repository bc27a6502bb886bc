/**
 * The power driver conformance suite: every driver in controller/power/registry.ts passes it
 * against its real counterpart (docs/hardware.md calls it the checklist for a new BMC kind). Call
 * powerConformance() from test/power/<kind>.conformance.test.ts. The suite checks the effect on the
 * counterpart, not only what the driver answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerError, type DriverOptions, type PowerDriver } from '../../controller/power/driver.js';
import type { PowerAction } from '../../shared/verbs/args.js';
import { createPowerDriver } from '../../controller/power/registry.js';

/** A power command as the counterpart saw it. */
export type SeenCommand = 'on' | 'off' | 'reset' | 'cycle';

/** The real thing a driver talks to, read and set directly rather than through the driver. */
export interface PowerCounterpart {
  /** The power the counterpart itself holds. */
  state(): Promise<'on' | 'off'>;
  /** Switches the counterpart directly (as the node's own button would), to set up a case. */
  set(state: 'on' | 'off'): Promise<void>;
  /** The power commands it received so far, oldest first (status reads left out). */
  seen(): Promise<SeenCommand[]>;
  /** For kinds with a one-time network boot: whether the counterpart holds one for the next boot. */
  netbootPending?(): Promise<boolean>;
}

export interface PowerHarness {
  node: string;
  target: string;
  opts?: DriverOptions;
  counterpart: PowerCounterpart;
  /**
   * A target (and node) whose counterpart never answers: a dead port, a mute socket, a hanging
   * script. `inFlight` counts the driver's I/O still outstanding there (live ipmitool or script
   * processes, open connections); absent only where the capability list says why.
   */
  hung: { target: string; node: string; inFlight?: () => Promise<number> };
  /** For kinds with credentials: the target with a wrong secret, and every secret that must never show. */
  wrongCredentials?: { target: string; secrets: string[] };
  /** Stops the counterpart and removes what the harness created. */
  close(): Promise<void>;
}

export interface PowerKindCapabilities {
  /** Whether targets carry credentials; when not, why the wrong-credentials case does not apply. */
  credentials: true | { notApplicable: string };
  /** Set when the kind has no I/O outside this process to see stopped: why. */
  noOutsideIo?: string;
  /** For kinds that cycle natively by default: what the counterpart sees of that cycle. */
  nativeCycleSeen?: SeenCommand[];
  /** For kinds without a reset of their own: what the counterpart sees instead, and why. */
  resetSeen?: { seen: SeenCommand[]; why: string };
  /** Whether the driver can set a one-time network boot (`netbootOnce`); when not, why. */
  netbootOnce: true | { unsupported: string };
}

/**
 * What each kind can be checked for. A case that does not apply to a kind says why here, and the
 * suite reports it as skipped with that reason.
 */
export const POWER_KIND_CAPABILITIES: Record<string, PowerKindCapabilities> = {
  ipmi: { credentials: true, netbootOnce: true },
  redfish: { credentials: true, netbootOnce: true },
  qemu: {
    credentials: { notApplicable: 'QMP is a local unix socket guarded by its file permissions; the target carries no credentials' },
    nativeCycleSeen: ['reset'], // system_reset: the VM's own safe cycle
    netbootOnce: { unsupported: 'QMP has no one-time boot device: the VM boots by its -boot order' },
  },
  command: {
    credentials: { notApplicable: 'the script holds whatever credentials it needs; the driver passes it none' },
    netbootOnce: { unsupported: 'the script protocol has only on, off, reset, cycle and status' },
  },
  fence: {
    credentials: true,
    resetSeen: { seen: ['off', 'on'], why: "fence agents have no reset: the agent's reboot (off, then on) stands in" },
    netbootOnce: { unsupported: 'fence agents switch power only: they set no boot device' },
  },
  sim: {
    credentials: { notApplicable: 'simulated power has no credentials' },
    noOutsideIo: 'simulated power is timers in this process, with nothing outside it to stop',
    netbootOnce: { unsupported: 'simulated power has no firmware to boot' },
  },
};

/** Short enough to keep the suite quick, long enough for a loaded 2-core CI. */
const HUNG_TIMEOUT_MS = 400;

async function failure(p: Promise<unknown>): Promise<PowerError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'expected a PowerError, but the call succeeded').toBeInstanceOf(PowerError);
  return err as PowerError;
}

export function powerConformance(kind: string, setup: () => Promise<PowerHarness>): void {
  const capabilities = POWER_KIND_CAPABILITIES[kind];
  describe(`power driver conformance: ${kind}`, () => {
    let h: PowerHarness;
    let driver: PowerDriver;
    /** The commands the counterpart sees while `act` runs. */
    const seenDuring = async (act: () => Promise<unknown>): Promise<SeenCommand[]> => {
      const before = (await h.counterpart.seen()).length;
      await act();
      return (await h.counterpart.seen()).slice(before);
    };

    /** The driver's I/O at the hung counterpart ends (child killed, socket destroyed, request aborted). */
    const expectIoStopped = async () => {
      if (capabilities?.noOutsideIo) return;
      expect(h.hung.inFlight, `${kind}: the harness must count its hung counterpart's I/O (hung.inFlight)`).toBeDefined();
      await expect.poll(h.hung.inFlight!, { timeout: 3_000, interval: 20 }).toBe(0);
    };

    beforeAll(async () => {
      h = await setup();
      driver = createPowerDriver(h.target, h.node, { pollMs: 20, ...h.opts });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('has a capability entry and its kind is the target scheme', () => {
      expect(capabilities, `add ${kind} to POWER_KIND_CAPABILITIES`).toBeDefined();
      expect(driver.kind).toBe(kind);
      expect(driver.node).toBe(h.node);
    });

    it('status reads the power the counterpart holds', async () => {
      await h.counterpart.set('off');
      expect(await driver.status()).toBe('off');
      await h.counterpart.set('on');
      expect(await driver.status()).toBe('on');
      expect(await driver.run('status')).toBe('on');
    });

    it('on powers the counterpart on', async () => {
      await h.counterpart.set('off');
      expect(await seenDuring(() => driver.on())).toEqual(['on']);
      expect(await h.counterpart.state()).toBe('on');
      expect(await driver.status()).toBe('on');
    });

    it('off powers the counterpart off', async () => {
      await h.counterpart.set('on');
      expect(await seenDuring(() => driver.off())).toEqual(['off']);
      expect(await h.counterpart.state()).toBe('off');
      expect(await driver.status()).toBe('off');
    });

    it('cycle ends on: off then on, or the hardware\'s own cycle when declared safe', async () => {
      await h.counterpart.set('on');
      const seen = await seenDuring(() => driver.cycle());
      expect(seen).toEqual(driver.nativeCycle ? capabilities?.nativeCycleSeen : ['off', 'on']);
      expect(await h.counterpart.state()).toBe('on');
    });

    it(`reset keeps the counterpart on and reaches it as a reset${capabilities?.resetSeen ? ` (${capabilities.resetSeen.why})` : ''}`, async () => {
      await h.counterpart.set('on');
      expect(await seenDuring(() => driver.reset())).toEqual(capabilities?.resetSeen?.seen ?? ['reset']);
      expect(await h.counterpart.state()).toBe('on');
    });

    it('an action against a counterpart that never answers times out within the driver timeout, naming node and action', async () => {
      const hung = createPowerDriver(h.hung.target, h.hung.node, { ...h.opts, timeoutMs: HUNG_TIMEOUT_MS });
      const actions = ['status', 'off'] as const satisfies readonly PowerAction[];
      const t0 = performance.now();
      const timed = async (action: PowerAction) => ({ action, err: await failure(hung.run(action)), ms: performance.now() - t0 });
      for (const { action, err, ms } of await Promise.all(actions.map(timed))) {
        expect(err.code).toBe('timeout');
        expect(err.message).toBe(`node ${h.hung.node}: ${kind} power ${action} failed: timed out after ${HUNG_TIMEOUT_MS} ms`);
        expect(ms).toBeGreaterThanOrEqual(HUNG_TIMEOUT_MS - 5);
        expect(ms).toBeLessThan(HUNG_TIMEOUT_MS + 1_000);
      }
      await expectIoStopped();
    });

    it('an AbortSignal ends an in-flight action promptly', async () => {
      const hung = createPowerDriver(h.hung.target, h.hung.node, { ...h.opts, timeoutMs: 30_000 });
      const ac = new AbortController();
      const pending = failure(hung.on({ signal: ac.signal }));
      // In flight: the counterpart holds the driver's I/O (or, without outside I/O, the call has begun).
      if (h.hung.inFlight) await expect.poll(h.hung.inFlight, { timeout: 5_000, interval: 20 }).toBeGreaterThan(0);
      else await new Promise((resolve) => setImmediate(resolve));
      const t0 = performance.now();
      ac.abort();
      const err = await pending;
      expect(performance.now() - t0).toBeLessThan(500);
      expect(err.code).toBe('aborted');
      expect(err.message).toBe(`node ${h.hung.node}: ${kind} power on failed: aborted by caller`);
      await expectIoStopped();
      // An already aborted signal stops the call before it starts.
      expect((await failure(driver.status({ signal: AbortSignal.abort() }))).code).toBe('aborted');
    });

    const netboot = capabilities?.netbootOnce;
    if (netboot === undefined || netboot === true) {
      it('netbootOnce sets a network boot at the counterpart for the next boot only, switching no power', async () => {
        expect(driver.netbootOnce, `${kind} declares netbootOnce: its driver must have it`).toBeDefined();
        expect(h.counterpart.netbootPending, `${kind} declares netbootOnce: its counterpart must say what it holds (netbootPending)`).toBeDefined();
        await h.counterpart.set('on');
        await driver.cycle(); // a boot uses up whatever an earlier case left
        expect(await h.counterpart.netbootPending!()).toBe(false);
        expect(await seenDuring(() => driver.netbootOnce!('uefi'))).toEqual([]);
        expect(await h.counterpart.netbootPending!()).toBe(true);
        expect(await h.counterpart.state()).toBe('on');
        await driver.cycle();
        expect(await h.counterpart.netbootPending!()).toBe(false);
        await driver.netbootOnce!(null); // firmware unknown: the BMC's default flags
        expect(await h.counterpart.netbootPending!()).toBe(true);
        await driver.reset();
        expect(await h.counterpart.netbootPending!()).toBe(false);
      });

      it('netbootOnce against a counterpart that never answers times out, naming the operation', async () => {
        const hung = createPowerDriver(h.hung.target, h.hung.node, { ...h.opts, timeoutMs: HUNG_TIMEOUT_MS });
        const err = await failure(hung.netbootOnce!('bios'));
        expect(err.code).toBe('timeout');
        expect(err.message).toBe(`node ${h.hung.node}: ${kind} boot device pxe failed: timed out after ${HUNG_TIMEOUT_MS} ms`);
        await expectIoStopped();
      });
    } else {
      it(`has no netbootOnce (${netboot.unsupported})`, () => {
        expect(driver.netbootOnce).toBeUndefined();
      });
      it.skip(`netbootOnce at the counterpart: does not apply to ${kind}: ${netboot.unsupported}`); // reason: the kind cannot set a boot device (its capability entry, in the name)
    }

    const credentials = capabilities?.credentials;
    if (credentials === undefined || credentials === true) {
      it('wrong credentials fail with the counterpart\'s refusal and no secret in the error', async () => {
        expect(h.wrongCredentials, `${kind} has credentials: its harness must give wrongCredentials`).toBeDefined();
        const wrong = h.wrongCredentials!;
        await h.counterpart.set('on');
        const err = await failure(createPowerDriver(wrong.target, h.node, h.opts).off());
        expect(err.code).toBe('failed');
        expect(err.message).toMatch(new RegExp(`^node ${h.node}: ${kind} power off failed: .+`));
        const shown = [err.message, String(err.cause), JSON.stringify({ ...err, cause: String(err.cause) })].join('\n');
        for (const secret of wrong.secrets) expect(shown).not.toContain(secret);
        expect(await h.counterpart.state()).toBe('on');
      });
    } else {
      it.skip(`wrong credentials: does not apply to ${kind}: ${credentials.notApplicable}`); // reason: the case does not apply to this kind (its capability entry, in the name)
    }
  });
}
