import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, type Proc } from '../helpers/proc.js';
import { until } from '../helpers/wait.js';

/** `ip` with arguments; throws with its stderr. */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command inside a namespace. */
export function inNs(ns: string, cmd: string, args: string[], timeoutMs = 20_000): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
}

/**
 * A real DHCP exchange (busybox udhcpc) on `eth0` of a namespace; returns the lease's variables
 * (ip, boot_file, siaddr, hostname…) and leaves the interface unconfigured. `dir` holds the event
 * script and the lease file. -B: replies by broadcast, as PXE ROMs ask; a unicast reply on a veth
 * carries a checksum udhcpc's raw socket refuses.
 */
export function udhcpc(ns: string, dir: string, args: string[]): Record<string, string> {
  const script = join(dir, 'udhcpc.sh');
  const leaseFile = join(dir, 'lease.bound');
  if (!existsSync(script)) writeFileSync(script, `#!/bin/sh\nenv > "${dir}/lease.$1"\n`, { mode: 0o755 });
  writeFileSync(leaseFile, '');
  inNs(ns, 'busybox', ['udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-B', '-t', '8', '-T', '1', '-s', script, ...args]);
  const lines = readFileSync(leaseFile, 'utf8').split('\n').filter((l) => l.includes('='));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/**
 * A provisioning network made for one test, kept inside network namespaces: `server` holds the
 * bridge br0 (`10.99.0.1/24`) where muster's dnsmasq listens; each `peer` is a namespace of its own
 * (a node, a site DHCP server) with `eth0` plugged into the bridge. Nothing reaches the host's
 * interfaces. `remove()` deletes the namespaces and everything in them.
 */
export class TestNetwork {
  readonly server: string;
  private readonly namespaces: string[] = [];
  private peers = 0;
  private site: string | null = null;

  constructor() {
    const id = randomBytes(3).toString('hex');
    this.server = `muster-t-${id}-s`;
    this.add(this.server);
    ip('-n', this.server, 'link', 'set', 'lo', 'up');
    ip('-n', this.server, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.server, 'addr', 'add', '10.99.0.1/24', 'dev', 'br0');
    ip('-n', this.server, 'link', 'set', 'br0', 'up');
  }

  /** A namespace with eth0 on the bridge: the given MAC, and the address when given (else none yet). */
  peer(role: string, mac: string, address?: string): string {
    const ns = `${this.server.slice(0, -2)}-${role}`;
    const port = `p${this.peers++}`;
    this.add(ns);
    ip('-n', this.server, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', this.server, 'link', 'set', port, 'master', 'br0', 'up');
    ip('-n', ns, 'link', 'set', 'eth0', 'address', mac, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    if (address) ip('-n', ns, 'addr', 'add', address, 'dev', 'eth0');
    // A DHCP client without an address yet still broadcasts through eth0.
    else ip('-n', ns, 'route', 'add', '255.255.255.255', 'dev', 'eth0');
    return ns;
  }

  /**
   * A dnsmasq playing the site's DHCP server in a namespace of its own at 10.99.0.2: addresses only,
   * from 10.99.0.50-59; it knows nothing of PXE. no-ping: it offers at once instead of first
   * pinging the address for up to 3 s. Resolves once it serves.
   */
  async siteServer(dir: string): Promise<Proc> {
    // One namespace for the site server, however many times a test starts it.
    this.site ??= this.peer('site', '52:54:00:00:99:99', '10.99.0.2/24');
    const ns = this.site;
    const conf = join(dir, 'site.conf');
    const lines = ['port=0', 'pid-file=', 'bind-interfaces', 'interface=eth0', 'dhcp-range=10.99.0.50,10.99.0.59,255.255.255.0,1h', `dhcp-leasefile=${dir}/site.leases`, 'log-facility=-', 'log-dhcp', 'no-ping'];
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const server = start('ip', ['netns', 'exec', ns, 'dnsmasq', '--keep-in-foreground', `--conf-file=${conf}`]);
    await server.waitFor('sockets bound exclusively');
    return server;
  }

  /** A tap device on the bridge, for a VM started inside the server namespace. */
  tap(name: string): string {
    ip('-n', this.server, 'tuntap', 'add', name, 'mode', 'tap');
    ip('-n', this.server, 'link', 'set', name, 'master', 'br0', 'up');
    return name;
  }

  /**
   * Makes `127.0.0.1:hostPort` (a controller listening in the host's namespace) reachable from the
   * bridge at `10.99.0.1:port`: a socat pair over a unix socket in `dir`, so no address outside the
   * namespaces is involved. The caller stops both processes.
   */
  async forward(port: number, hostPort: number, dir: string): Promise<Proc[]> {
    const sock = join(dir, `forward-${port}.sock`);
    const host = start('socat', [`UNIX-LISTEN:${sock},fork,unlink-early`, `TCP:127.0.0.1:${hostPort}`]);
    await until(`the unix socket ${sock}`, () => existsSync(sock));
    return [host, start('ip', ['netns', 'exec', this.server, 'socat', `TCP-LISTEN:${port},bind=10.99.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`])];
  }

  remove(): void {
    for (const ns of this.namespaces.reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Already gone.
      }
    }
  }

  private add(ns: string): void {
    ip('netns', 'add', ns);
    this.namespaces.push(ns);
  }
}
