/**
 * Where a lab VM's boot went, from power-on to `run`: the boot steps muster's dnsmasq and HTTP
 * server saw for its MAC (`boot` events) and the lines of its serial port. Pure.
 */
import type { Event } from '../../shared/protocol.js';
import type { SerialLine } from './vm.js';

export interface BootTimeline {
  /** Seconds from power-on to run. */
  total: number;
  /** Seconds in each stretch (null when its mark was not seen). */
  dhcp: number | null;
  tftp: number | null;
  kernelInitrd: number | null;
  init: number | null;
  /** Every mark: `DHCP ack 10.99.0.101 +8.3 s`. */
  marks: string[];
}

/** The firmware's DHCP answer: an address from muster, or (proxy mode) muster's PXE part of it. */
const DHCP_STEPS = new Set(['dhcp-ack', 'pxe-proxy']);
/** The boot script fetched: iPXE's over HTTP, or grub's over TFTP (`<mac>.grub`). */
const isScript = (e: Event) => e.details.step === 'script' || (e.details.step === 'tftp-sent' && String(e.details.file).endsWith('.grub'));

/**
 * Stretches: firmware start and its DHCP (power-on → DHCP answer); TFTP and the loaders' own
 * start-up (→ boot script fetched); kernel and initrd download (→ the kernel's banner on the
 * serial port, `Linux version`); the initramfs and agent (→ run).
 */
export function bootTimeline(from: number, runAt: number, steps: Event[], serial: SerialLine[]): BootTimeline {
  const after = steps.filter((e) => e.at >= from).sort((a, b) => a.at - b.at);
  const dhcp = after.find((e) => DHCP_STEPS.has(String(e.details.step)))?.at ?? null;
  const script = after.find(isScript)?.at ?? null;
  const kernel = serial.find((l) => l.at >= from && l.text.includes('Linux version'))?.at ?? null;
  const span = (a: number | null, b: number | null) => (a !== null && b !== null ? seconds(b - a) : null);
  // A message without its subject (`lab1: `, `unknown machine 52:54:…: `), once: clients repeat their DISCOVERs.
  const seen = new Set<string>();
  const firsts = after.map((e) => ({ at: e.at, what: e.message.replace(/^(unknown machine \S+|\S+): /, '') })).filter((m) => !seen.has(m.what) && seen.add(m.what));
  const marks = [
    ...firsts,
    ...(kernel === null ? [] : [{ at: kernel, what: 'kernel banner on the serial port' }]),
    { at: runAt, what: 'run' },
  ].sort((a, b) => a.at - b.at);
  return {
    total: seconds(runAt - from),
    dhcp: span(from, dhcp),
    tftp: span(dhcp, script),
    kernelInitrd: span(script, kernel),
    init: span(kernel, runAt),
    marks: marks.map((m) => `${m.what} +${seconds(m.at - from)} s`),
  };
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

/** One line: `52.1 s: DHCP 8.3, TFTP+loader 15.0, kernel+initrd 12.4, init 16.4`. */
export function timelineSummary(t: BootTimeline): string {
  const s = (v: number | null) => (v === null ? '?' : v.toFixed(1));
  return `${t.total.toFixed(1)} s: DHCP ${s(t.dhcp)}, TFTP+loader ${s(t.tftp)}, kernel+initrd ${s(t.kernelInitrd)}, init ${s(t.init)}`;
}
