/**
 * dnsmasq's log (`log-dhcp`, `log-facility=-`) read as boot steps per MAC: what an admin needs to
 * see where a machine's boot stopped. Pure: lines in, steps out.
 */

/** One line of dnsmasq's log, as far as the boot chain is concerned. */
export type DnsmasqLine =
  | { kind: 'dhcp'; xid: string; message: string; ip: string | null; mac: string; rest: string }
  | { kind: 'pxe'; xid: string; ip: string | null; mac: string; file: string | null }
  | { kind: 'bootfile'; xid: string; file: string }
  | { kind: 'tftp-sent'; file: string; ip: string }
  | { kind: 'tftp-failed'; text: string; ip: string | null }
  | { kind: 'notice'; text: string; problem: boolean };

const PREFIX = /^dnsmasq(?:-(dhcp|tftp))?(?:\[\d+\])?: (.*)$/;
const IP = '(\\d{1,3}(?:\\.\\d{1,3}){3})';
const MAC = '((?:[0-9a-f]{2}:){5}[0-9a-f]{2})';
const DHCP = new RegExp(`^(\\d+) (DHCP[A-Z]+)\\([^)]*\\)(?: ${IP})? ${MAC}(?: (.*))?$`);
const PXE = new RegExp(`^(\\d+) PXE\\([^)]*\\)(?: ${IP})? ${MAC} (.*)$`);
// The file goes in the BOOTP file field, or in option 67 when the client asks for it (iPXE does).
const BOOTFILE = /^(\d+) (?:bootfile name: |sent size:\s*\d+ option:\s*67 bootfile-name\s+)(.*)$/;
const TFTP_SENT = new RegExp(`^sent (.+) to ${IP}$`);
const TFTP_FAILED = new RegExp(`(?:not found|failed|error|cannot|refused).*?(?:${IP})?\\s*$`, 'i');
/** Files the Secure Boot chain looks for and goes on without: shim's optional revocation lists and certificates, grub's module lists. */
const OPTIONAL_PROBE = /\/(?:revocations_\w+\.efi|shim_certificate_\d+\.efi|grub\/x86_64-efi\/\w+\.lst) not found for /;
const PROBLEM = /\b(cannot|failed|error|illegal|bad|refused|unknown|permission denied|no address)\b/i;

/** One log line, or null for what the boot chain does not need (option dumps, tags, timings). */
export function parseDnsmasqLine(line: string): DnsmasqLine | null {
  const m = PREFIX.exec(line.trimEnd());
  if (!m) return line.trim() ? { kind: 'notice', text: line.trim(), problem: PROBLEM.test(line) } : null;
  const [, facility, text] = m as unknown as [string, string | undefined, string];
  if (facility === 'tftp') {
    const sent = TFTP_SENT.exec(text);
    if (sent) return { kind: 'tftp-sent', file: sent[1]!, ip: sent[2]! };
    // A client's own error (a ROM that aborts the first transfer once it knows the size), or a file
    // it only probes for, is no failure.
    const failed = /received from/.test(text) || OPTIONAL_PROBE.test(text) ? null : TFTP_FAILED.exec(text);
    if (failed) return { kind: 'tftp-failed', text, ip: failed[1] ?? null };
    return { kind: 'notice', text, problem: false };
  }
  if (facility === 'dhcp') {
    let d = DHCP.exec(text);
    if (d) return { kind: 'dhcp', xid: d[1]!, message: d[2]!, ip: d[3] ?? null, mac: d[4]!, rest: (d[5] ?? '').trim() };
    d = PXE.exec(text);
    if (d) {
      const rest = d[4]!.trim();
      return { kind: 'pxe', xid: d[1]!, ip: d[2] ?? null, mac: d[3]!, file: rest === 'proxy' ? null : rest };
    }
    d = BOOTFILE.exec(text);
    if (d) return { kind: 'bootfile', xid: d[1]!, file: d[2]!.trim() };
    // Per-transaction detail (tags, options sent) starts with the transaction id: not a step.
    if (/^\d+ /.test(text)) return null;
  }
  return { kind: 'notice', text, problem: PROBLEM.test(text) };
}

/** A step of one machine's boot chain. */
export interface BootStep {
  mac: string;
  ip: string | null;
  /**
   * `dhcp-discover`, `dhcp-offer`, `dhcp-request`, `dhcp-ack`, `dhcp-nak`, `pxe-proxy`, `boot-file`,
   * `tftp-sent`, `tftp-failed`; from muster's HTTP server (http-steps.ts) `script`, `kernel`, `initrd`.
   */
  step: string;
  /** For people: `DHCP offer 10.99.0.12`, `TFTP snponly.efi`. */
  message: string;
  details: Record<string, string>;
}

/**
 * The steps that only a machine starting up takes (a lease renewal is a request and an ack, with
 * no reboot): muster's evidence that the node booted (controller/auth/reintroduction.ts).
 */
export const BOOTING_STEPS: ReadonlySet<string> = new Set(['dhcp-offer', 'pxe-proxy', 'boot-file', 'tftp-sent', 'script', 'kernel', 'initrd']);

const REMEMBERED = 1024;

/**
 * Joins dnsmasq's lines into boot steps per MAC: a boot file line names only its transaction, and a
 * TFTP line only the client's address, so the MAC comes from the DHCP lines before them (the most
 * recent `REMEMBERED` transactions and addresses are kept).
 */
export class BootStepReader {
  private readonly macByXid = new Map<string, { mac: string; ip: string | null; message: string; fileSeen?: boolean }>();
  private readonly macByIp = new Map<string, string>();

  read(line: DnsmasqLine): BootStep | null {
    switch (line.kind) {
      case 'dhcp': {
        this.remember(this.macByXid, line.xid, { mac: line.mac, ip: line.ip, message: line.message });
        if (line.ip && line.message === 'DHCPACK') this.remember(this.macByIp, line.ip, line.mac);
        const word = line.message.slice('DHCP'.length).toLowerCase();
        const details: Record<string, string> = line.rest ? { note: line.rest } : {};
        return { mac: line.mac, ip: line.ip, step: `dhcp-${word}`, message: ['DHCP', word, line.ip, line.message === 'DHCPACK' ? null : line.rest || null].filter(Boolean).join(' '), details };
      }
      case 'pxe': {
        this.remember(this.macByXid, line.xid, { mac: line.mac, ip: line.ip, message: 'PXE' });
        if (line.ip) this.remember(this.macByIp, line.ip, line.mac);
        return line.file
          ? { mac: line.mac, ip: line.ip, step: 'boot-file', message: `PXE boot server: boot file ${line.file}`, details: { file: line.file } }
          : { mac: line.mac, ip: line.ip, step: 'pxe-proxy', message: 'PXE proxy offer', details: {} };
      }
      case 'bootfile': {
        // Offers and acks both name the file; the ack's is the one the machine goes on with. A proxy
        // reply names it too when UEFI firmware or iPXE asks the proxy directly instead of port 4011.
        const t = this.macByXid.get(line.xid);
        if (!t || (t.message !== 'DHCPACK' && t.message !== 'PXE') || t.fileSeen) return null;
        t.fileSeen = true;
        const message = `${t.message === 'PXE' ? 'PXE proxy: ' : ''}boot file ${line.file}`;
        return { mac: t.mac, ip: t.ip, step: 'boot-file', message, details: { file: line.file } };
      }
      case 'tftp-sent': {
        const mac = this.macByIp.get(line.ip);
        const file = line.file.split('/').pop()!;
        return mac ? { mac, ip: line.ip, step: 'tftp-sent', message: `TFTP ${file} sent`, details: { file: line.file } } : null;
      }
      case 'tftp-failed': {
        const mac = line.ip ? this.macByIp.get(line.ip) : undefined;
        return mac ? { mac, ip: line.ip, step: 'tftp-failed', message: `TFTP failed: ${line.text}`, details: { error: line.text } } : null;
      }
      case 'notice':
        return null;
    }
  }

  /** The MAC dnsmasq last acknowledged `ip` to, or null. */
  macOf(ip: string): string | null {
    return this.macByIp.get(ip) ?? null;
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > REMEMBERED) map.delete(map.keys().next().value!);
  }
}
