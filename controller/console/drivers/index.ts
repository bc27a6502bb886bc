import type { ConsoleDriver } from '../driver.js';
import { parseConsoleTarget } from '../target.js';
import { SerialConsole } from './serial.js';
import { SimConsole } from './sim.js';
import { SolConsole } from './sol.js';
import { TcpConsole } from './tcp.js';

/** The driver for a node's `console=` target; `ipmiUrl` (the node's power target) serves `sol:`. */
export function createConsoleDriver(node: string, target: string, opts: { ipmiUrl?: string } = {}): ConsoleDriver {
  const t = parseConsoleTarget(target, opts);
  switch (t.kind) {
    case 'serial':
      return new SerialConsole(t.path, t.baudRate);
    case 'tcp':
      return new TcpConsole(t.host, t.port);
    case 'sol':
      return new SolConsole(t);
    case 'sim':
      return new SimConsole(node);
  }
}
