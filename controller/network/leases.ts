import { readFile } from 'node:fs/promises';

/** One line of dnsmasq's lease file, with the node whose MAC it is. */
export interface Lease {
  mac: string;
  ip: string;
  /** The name the client sent or dnsmasq gave it; null for none (`*`). */
  hostname: string | null;
  /** When it expires (ms since the epoch); null for an infinite lease. */
  expiresAt: number | null;
  node: string | null;
}

/** dnsmasq's lease file: `<expiry epoch s> <mac> <ip> <hostname|*> <client id|*>` per line (IPv4). */
export function parseLeases(text: string, nodeByMac: (mac: string) => string | null): Lease[] {
  const out: Lease[] = [];
  for (const line of text.split('\n')) {
    const [expiry, mac, ip, hostname] = line.trim().split(/\s+/);
    // IPv6 entries (after a `duid` line) have no MAC in the second field: not ours.
    if (!expiry || !mac || !ip || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) continue;
    out.push({ mac, ip, hostname: hostname && hostname !== '*' ? hostname : null, expiresAt: expiry === '0' ? null : Number(expiry) * 1000, node: nodeByMac(mac) });
  }
  return out;
}

export async function readLeases(file: string, nodeByMac: (mac: string) => string | null): Promise<Lease[]> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw new Error(`network: cannot read the lease file ${file}: ${err.message}`);
  });
  return parseLeases(text, nodeByMac);
}
