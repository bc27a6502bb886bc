/**
 * The boot steps muster's HTTP server sees: a machine asking for its boot script (the MAC is in
 * the URL) or for an image's kernel or initrd (the MAC from the address dnsmasq gave it). Pure.
 */
import { normalizeMac } from '../../shared/protocol.js';
import type { BootStep } from './dnsmasq-log.js';

const SCRIPT = /^\/boot\/([^/]+)\.(ipxe|grub)$/;
const IMAGE_FILE = /^\/images\/([^/]+)\/(kernel|initrd)$/;
const LANGUAGE = { ipxe: 'iPXE', grub: 'grub' } as const;

/** The step of a GET, or null for other requests and for a client whose MAC is unknown. */
export function httpBootStep(method: string | undefined, url: string, remoteAddress: string | undefined, macOf: (ip: string) => string | null): BootStep | null {
  if (method !== 'GET') return null;
  let path: string;
  try {
    path = decodeURIComponent(url.split('?')[0]!);
  } catch {
    return null;
  }
  const ip = remoteAddress?.replace(/^::ffff:/, '') ?? null;
  const script = SCRIPT.exec(path);
  if (script) {
    const mac = normalizeMac(script[1]!);
    const language = LANGUAGE[script[2] as keyof typeof LANGUAGE];
    return mac ? { mac, ip, step: 'script', message: `${language} script requested`, details: { url: path } } : null;
  }
  const file = IMAGE_FILE.exec(path);
  const mac = file && ip ? macOf(ip) : null;
  if (!file || !mac) return null;
  return { mac, ip, step: file[2]!, message: `${file[2]} of image ${file[1]} requested`, details: { image: file[1]!, url: path } };
}
