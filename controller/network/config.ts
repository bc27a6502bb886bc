import { z } from 'zod';
import { IF_NAME, inSubnet, ipv4ToInt } from '../../shared/node-network.js';

/** dnsmasq's lease time syntax: seconds, or a number with m/h/d, or `infinite`. */
const LEASE_TIME = /^(\d+[smhd]?|infinite)$/;

/**
 * The `network:` section of the controller config: the provisioning network muster's dnsmasq
 * serves (docs/network.md). Without it muster runs no DHCP or TFTP.
 */
export const NetworkConfig = z
  .object({
    /** dhcp: muster hands out addresses; proxy: the site's DHCP server does, muster answers only PXE. */
    mode: z.enum(['dhcp', 'proxy']),
    /** The interface on the provisioning network (dnsmasq binds to it alone). */
    interface: z.string().regex(IF_NAME, 'interface must be an interface name of 1-15 letters, digits, "_", "." or "-"'),
    /** The provisioning subnet, like 10.99.0.0/24. */
    subnet: z.cidrv4({ error: 'subnet must be an IPv4 network with a prefix, like 10.99.0.0/24' }),
    /** Addresses for machines no node claims (dhcp mode only). */
    pool: z.object({ start: z.ipv4(), end: z.ipv4() }).strict().optional(),
    leaseTime: z.string().regex(LEASE_TIME, 'leaseTime must be seconds, a number with s/m/h/d (like 1h), or "infinite"').default('1h'),
    /** The default gateway handed out in dhcp mode (option 3); none when unset. */
    router: z.ipv4().optional(),
    /** Where nodes reach muster's HTTP server, like http://10.99.0.1:8080 (iPXE scripts, loaders). */
    httpUrl: z.url({ protocol: /^https?$/, error: 'httpUrl must be an http:// or https:// URL, like http://10.99.0.1:8080' }),
    /** The directory TFTP serves: the first-stage loaders (Debian's ipxe package). */
    tftpRoot: z.string().min(1).default('/usr/lib/ipxe'),
    /** The dnsmasq executable. */
    dnsmasq: z.string().min(1).default('dnsmasq'),
    /**
     * UEFI x86-64 clients boot Debian's signed chain instead of snponly.efi: shim, then grub, which
     * reads its MAC's script and the image over TFTP (docs/network.md, Secure Boot). BIOS clients are unchanged.
     */
    secureBoot: z.boolean().default(false),
    /** shim signed by Microsoft (Debian's shim-signed), the first stage under Secure Boot. */
    shim: z.string().min(1).default('/usr/lib/shim/shimx64.efi.signed'),
    /** grub's network image signed by Debian (grub-efi-amd64-signed), which shim loads as grubx64.efi. */
    grub: z.string().min(1).default('/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed'),
    /** Run dnsmasq inside this network namespace (`ip netns exec`); null: muster's own. */
    netns: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'netns must be a namespace name').nullable().default(null),
  })
  .strict()
  .superRefine((n, ctx) => {
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (n.mode === 'dhcp' && !n.pool) problem('mode dhcp needs a pool: { start, end } for machines no node claims');
    if (n.mode === 'proxy' && n.pool) problem('mode proxy hands out no addresses: drop pool (the site DHCP server owns the addresses)');
    if (n.mode === 'proxy' && n.router) problem('mode proxy hands out no router: drop router (the site DHCP server sets it)');
    for (const [what, ip] of [['pool start', n.pool?.start], ['pool end', n.pool?.end], ['router', n.router]] as const) {
      if (ip && !inSubnet(ip, n.subnet)) problem(`${what} ${ip} is outside the subnet ${n.subnet}`);
    }
    if (n.pool && ipv4ToInt(n.pool.start) > ipv4ToInt(n.pool.end)) problem(`pool start ${n.pool.start} is after its end ${n.pool.end}`);
  });
export type NetworkConfig = z.infer<typeof NetworkConfig>;

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** The subnet's network address and netmask, dotted. */
export function subnetParts(cidr: string): { network: string; netmask: string; prefix: number } {
  const [addr, bits] = cidr.split('/') as [string, string];
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  return { network: intToIpv4(Math.floor(ipv4ToInt(addr) / size) * size), netmask: intToIpv4(2 ** 32 - size), prefix };
}
