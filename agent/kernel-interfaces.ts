/** The node's interfaces from `muster.if=` on the kernel command line (agent-network.js's input). */
import { parseKernelInterface, type InterfaceConfig } from '../shared/node-network.js';
import { cmdlineWords } from './cmdline.js';

/** Every `muster.if=` parameter (one per interface, so a key repeats), validated; the first bad one is an error naming it. */
export function kernelInterfaces(cmdline: string): InterfaceConfig[] {
  return cmdlineWords(cmdline)
    .filter((w) => w.startsWith('muster.if='))
    .map((w) => {
      const r = parseKernelInterface(w.slice('muster.if='.length));
      if (!r.ok) throw new Error(`kernel command line: ${r.error}`);
      return r.value;
    });
}
