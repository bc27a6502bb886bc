/** InfiniBand port GUIDs from /sys/class/infiniband. */
import type { Fingerprint } from '../../shared/protocol.js';
import { normalizeIbGuid } from '../../shared/wire.js';
import type { SysRoot } from './sysfs.js';

const MAX_PORTS = 64;

type IbPortInfo = Fingerprint['ib'][number];

export function readIbPorts(sys: SysRoot): IbPortInfo[] {
  const ports: IbPortInfo[] = [];
  for (const device of sys.list('sys/class/infiniband')) {
    const dir = `sys/class/infiniband/${device}`;
    for (const port of sys.list(`${dir}/ports`).filter((p) => /^\d+$/.test(p))) {
      const guid = portGuid(sys.line(`${dir}/ports/${port}/gids/0`, 64)) ?? normalizeIbGuid(sys.line(`${dir}/node_guid`, 64) ?? '');
      if (guid !== null && ports.length < MAX_PORTS) ports.push({ device: device.slice(0, 64), port: Number(port), guid });
    }
  }
  return ports;
}

/** GID 0 is the link-local prefix fe80::/64 followed by the port GUID (its low 64 bits). */
function portGuid(gid: string | null): string | null {
  const groups = gid?.split(':');
  if (groups?.length !== 8) return null;
  const guid = normalizeIbGuid(groups.slice(4).join(':'));
  return guid === '0000:0000:0000:0000' ? null : guid;
}
