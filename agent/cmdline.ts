/** Kernel command line parsing: the agent's controller URL and boot NIC come from here. */
import { normalizeMac } from '../shared/wire.js';

export interface BootParams {
  /** `muster.controller=URL[,URL…]` (the agent's brokers), or null when absent. */
  controller: string | null;
  /** `muster.token=TOKEN` (a bootstrap token; /proc/cmdline is world-readable, so only a bootstrap one). */
  token: string | null;
  /** `BOOTIF=01-aa-bb-cc-dd-ee-ff` (PXELINUX/iPXE), normalised; null when absent or malformed. */
  bootMac: string | null;
}

/**
 * Splits a command line into `key → value` (bare words map to ''). Double quotes group words,
 * as the kernel does (`key="a b"`); everything after a lone `--` belongs to init and is ignored.
 */
export function parseCmdline(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const unquoted of cmdlineWords(text)) {
    const eq = unquoted.indexOf('=');
    if (eq === 0) continue;
    if (eq < 0) params.set(unquoted, '');
    else params.set(unquoted.slice(0, eq), unquoted.slice(eq + 1));
  }
  return params;
}

/** The words of a command line, quotes removed, up to a lone `--`. */
export function cmdlineWords(text: string): string[] {
  const words: string[] = [];
  for (const word of text.match(/(?:[^\s"]+|"[^"]*"?)+/g) ?? []) {
    if (word === '--') break;
    words.push(word.replace(/"/g, ''));
  }
  return words;
}

export function bootParams(cmdline: string): BootParams {
  const params = parseCmdline(cmdline);
  const controller = params.get('muster.controller') || null;
  return { controller, token: params.get('muster.token') || null, bootMac: parseBootif(params.get('BOOTIF')) };
}

/** `01-aa-bb-…`: the leading `01-` is the ARP hardware type (Ethernet) and is dropped. */
export function parseBootif(value: string | undefined): string | null {
  if (!value) return null;
  const mac = /^[0-9a-f]{2}-(([0-9a-f]{2}[-:]){5}[0-9a-f]{2})$/i.exec(value.trim());
  return mac ? normalizeMac(mac[1]!) : normalizeMac(value);
}
