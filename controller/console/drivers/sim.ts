import type { ConsoleDriver, ConsoleKind, ConsoleSink } from '../driver.js';

/** `sim://`: the simulated console of a demo node. */
export const simConsole: ConsoleKind<{ kind: 'sim' }> = {
  kind: 'sim',
  syntax: 'sim://',
  claims: (target) => target.startsWith('sim:'),
  parse(target) {
    if (target !== 'sim://' && target !== 'sim:') throw new Error(`expected ${simConsole.syntax}`);
    return { kind: 'sim' };
  },
  create: (_t, node) => new SimConsole(node),
};

/** What a small x86 node prints from firmware to the login prompt, for the demo. */
function bootScript(hostname: string): string[] {
  return [
    'SeaBIOS (version 1.16.2-debian-1.16.2-1)',
    'iPXE (https://ipxe.org) 00:03.0 CA00 PCI2.10 PnP PMM+06FCF0C0+06F2F0C0 CA00',
    'Booting from ROM...',
    '[    0.000000] Linux version 6.1.0-28-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1',
    '[    0.000000] Command line: console=ttyS0,115200 muster.controller=mqtt://10.0.2.2:1883',
    '[    0.412331] Memory: 3985032K/4193784K available',
    '[    1.204117] virtio_net virtio0 eth0: renamed from ens3',
    '[    1.873950] Freeing unused kernel image (initmem) memory: 2740K',
    '[    1.874402] Run /init as init process',
    'muster-agent: phase kernel',
    '[    3.310228] systemd[1]: Reached target Basic System.',
    'muster-agent: phase init',
    '[  OK  ] Started OpenBSD Secure Shell server.',
    'muster-agent: phase run',
    '',
    `Debian GNU/Linux 12 ${hostname} ttyS0`,
    '',
  ];
}

function panicScript(): string[] {
  return [
    '[  42.133701] BUG: kernel NULL pointer dereference, address: 0000000000000008',
    '[  42.134090] Call Trace:',
    '[  42.134211]  <TASK>',
    '[  42.134377]  ? __die+0x23/0x70',
    '[  42.134590]  </TASK>',
    '[  42.135002] Kernel panic - not syncing: Fatal exception',
  ];
}

/**
 * A simulated console for demo nodes: prints boot text or a panic on demand, and echoes what the
 * attached writer types, as a terminal with echo would.
 */
export class SimConsole implements ConsoleDriver {
  readonly target = 'sim://';
  private sink: ConsoleSink | null = null;
  private timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly hostname: string,
    /** Pause between printed lines, so a watcher sees the text arrive. */
    private readonly lineDelayMs = 40,
  ) {}

  async open(sink: ConsoleSink): Promise<void> {
    await this.close();
    this.sink = sink;
  }

  async write(data: Buffer): Promise<void> {
    if (!this.sink) throw new Error('simulated console is not open');
    this.sink.data(Buffer.from(data.toString('latin1').replace(/\r(?!\n)/g, '\r\n'), 'latin1'));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.sink = null;
  }

  /** Prints a firmware-to-login boot, ending with the `login:` prompt (no newline, as a getty does). */
  boot(): void {
    this.print([...bootScript(this.hostname).map((l) => `${l}\r\n`), `${this.hostname} login: `]);
  }

  /** Prints a kernel oops followed by a panic. */
  panic(): void {
    this.print(panicScript().map((l) => `${l}\r\n`));
  }

  /** Ends the connection as if the port vanished (the manager reconnects). */
  drop(reason = 'simulated console dropped'): void {
    const sink = this.sink;
    void this.close().then(() => sink?.closed(reason));
  }

  private print(pieces: string[]): void {
    pieces.forEach((piece, i) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.sink?.data(Buffer.from(piece, 'utf8'));
      }, i * this.lineDelayMs);
      this.timers.add(t);
    });
  }
}
