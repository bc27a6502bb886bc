/**
 * The console driver conformance suite: every kind in controller/console/registry.ts passes it
 * against its real far end (a pty pair, a TCP server, ipmi_sim's SOL, the simulated console).
 * Call consoleConformance() from test/console/<kind>.conformance.test.ts. Drivers are made
 * through the registry, from the target text, as the controller makes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleDriver, ConsoleSink } from '../../controller/console/driver.js';
import { createConsoleDriver } from '../../controller/console/registry.js';
import { redactUrl } from '../../controller/console/target.js';
import { until } from '../helpers/wait.js';

/** The far end of a console: the node's side of the serial line. */
export interface ConsoleFarEnd {
  /** The node prints `text`; resolves to the text the console then delivers (the simulated console prints its own script). */
  say(text: string): Promise<string>;
  /** Everything that reached the far end from the driver's writes so far. */
  heard(): string;
  /** The far end drops the connection (port unplugged, peer hangs up, session ended); resolves once it can be reached again. */
  drop(): Promise<void>;
}

export interface ConsoleHarness {
  node: string;
  target: string;
  /** The node's power target, for `sol:`. */
  ipmiUrl?: string;
  /**
   * The far end of `driver`. `delivered` is what the driver's current sink has received: a far end
   * that is an echoing terminal (the simulated console) hears through it.
   */
  farEnd(driver: ConsoleDriver, delivered: () => string): ConsoleFarEnd;
  /** A well-formed target of this kind that cannot be opened, text its error names, and secrets it must not show. */
  unreachable?: { target: string; ipmiUrl?: string; names: string; secrets?: string[] };
  /** A target of this kind its parser refuses. */
  malformed: string;
  close(): Promise<void>;
}

export interface ConsoleKindCapabilities {
  /** Whether a target can fail to open; when not, why the unreachable case does not apply. */
  unreachable: true | { notApplicable: string };
  /** Set when the driver notices a far end that dropped only once it next sends: why. */
  dropNoticedOnWrite?: string;
}

/** What each kind can be checked for. A case that does not apply says why, and is reported skipped with it. */
export const CONSOLE_KIND_CAPABILITIES: Record<string, ConsoleKindCapabilities> = {
  serial: { unreachable: true },
  tcp: { unreachable: true },
  sol: {
    unreachable: true,
    dropNoticedOnWrite: 'ipmitool learns that the BMC ended the session only from the answer to its next packet',
  },
  sim: { unreachable: { notApplicable: 'sim:// is in process and always opens' } },
};

/** A sink that records what it hears. */
function recordingSink() {
  const chunks: Buffer[] = [];
  const closes: string[] = [];
  const sink: ConsoleSink = { data: (chunk) => void chunks.push(Buffer.from(chunk)), closed: (reason) => void closes.push(reason) };
  return { sink, text: () => Buffer.concat(chunks).toString('utf8'), closes };
}

export function consoleConformance(kind: string, setup: () => Promise<ConsoleHarness>): void {
  const capabilities = CONSOLE_KIND_CAPABILITIES[kind];
  describe(`console driver conformance: ${kind}`, () => {
    let h: ConsoleHarness;
    let driver: ConsoleDriver;
    let current = recordingSink();
    let far: ConsoleFarEnd;
    const openWith = async (rec: ReturnType<typeof recordingSink>) => {
      current = rec;
      await driver.open(rec.sink);
    };

    beforeAll(async () => {
      h = await setup();
      driver = createConsoleDriver(h.node, h.target, { ipmiUrl: h.ipmiUrl });
      far = h.farEnd(driver, () => current.text());
    });
    afterAll(async () => {
      await driver?.close();
      await h?.close();
    });

    it('has a capability entry; its target shows no secret', () => {
      expect(capabilities, `add ${kind} to CONSOLE_KIND_CAPABILITIES`).toBeDefined();
      expect(driver.target).toBe(redactUrl(driver.target));
      if (h.ipmiUrl) expect(driver.target).not.toContain(new URL(h.ipmiUrl).password || '\0');
    });

    it('refuses writes before it is open', async () => {
      await expect(driver.write(Buffer.from('x'))).rejects.toThrow(/not (open|connected|active)/);
    });

    it('opens and delivers what the far end prints, bytes intact and in order', async () => {
      await openWith(recordingSink());
      const text = await far.say('Linux version 6.1 \u00e9\u4e2d \u001b[0m\r\nn1 login: ');
      await until(`${kind}: the far end's text delivered`, () => current.text().includes(text), 10_000);
      expect(current.closes).toEqual([]);
    });

    it('carries writes to the far end, in order', async () => {
      await driver.write(Buffer.from('root\r'));
      await driver.write(Buffer.from('ls -l\r'));
      await until(`${kind}: writes at the far end`, () => far.heard().includes('ls -l'), 10_000);
      expect(far.heard()).toMatch(/root\r\n?ls -l\r/);
    });

    it('close ends the connection quietly; writes then fail; it opens again', async () => {
      const before = current;
      await driver.close();
      await driver.close(); // twice is harmless
      const heardAtClose = before.text().length;
      await expect(driver.write(Buffer.from('x'))).rejects.toThrow();
      await openWith(recordingSink());
      const text = await far.say('after reopen\r\n');
      await until(`${kind}: output after reopening`, () => current.text().includes(text), 10_000);
      // The closed connection's sink heard nothing more, and no closed() either.
      expect(before.text()).toHaveLength(heardAtClose);
      expect(before.closes).toEqual([]);
    });

    it('reports a far end that drops, and reconnects', async () => {
      const before = current;
      await far.drop();
      if (capabilities?.dropNoticedOnWrite) await driver.write(Buffer.from('\r')).catch(() => undefined);
      await until(`${kind}: closed() after the far end dropped`, () => before.closes.length > 0, 15_000);
      expect(before.closes).toHaveLength(1);
      expect(before.closes[0]).toMatch(/\S/);
      await expect(driver.write(Buffer.from('x'))).rejects.toThrow();
      await openWith(recordingSink());
      const text = await far.say('back again\r\n');
      await until(`${kind}: output after reconnecting`, () => current.text().includes(text), 10_000);
    });

    it('refuses a malformed target, naming it', () => {
      expect(() => createConsoleDriver(h.node, h.malformed, { ipmiUrl: h.ipmiUrl })).toThrow(`console target "${redactUrl(h.malformed)}": `);
    });

    const unreachable = capabilities?.unreachable;
    if (unreachable === undefined || unreachable === true) {
      it('a target that cannot be opened fails with a reason naming it, and no secret', async () => {
        expect(h.unreachable, `${kind}: the harness must give an unreachable target`).toBeDefined();
        const u = h.unreachable!;
        const rec = recordingSink();
        const err = await createConsoleDriver(h.node, u.target, { ipmiUrl: u.ipmiUrl }).open(rec.sink).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, 'open succeeded').toBeInstanceOf(Error);
        const message = (err as Error).message;
        expect(message).toContain(u.names);
        for (const s of u.secrets ?? []) expect(message).not.toContain(s);
        expect(rec.closes).toEqual([]);
      });
    } else {
      it.skip(`unreachable target: does not apply to ${kind}: ${unreachable.notApplicable}`); // reason: the case does not apply to this kind (its capability entry, in the name)
    }
  });
}
