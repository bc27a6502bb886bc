/**
 * The agent id: derived from hardware only, so it survives reboots and reinstalls. Pure: it takes
 * a fingerprint and decides; the order is the most stable identity first.
 */
import type { Fingerprint } from '../shared/protocol.js';
import { dmiUuid } from './fingerprint/sanitize.js';

export type IdentitySource = 'dmi-uuid' | 'boot-mac' | 'lowest-mac' | 'dmi-serial';

export interface Identity {
  agentId: string;
  source: IdentitySource;
}

const MAX_ID_BODY = 80;

export function deriveIdentity(fp: Fingerprint): Identity {
  const uuid = dmiUuid(fp.dmi.uuid);
  if (uuid !== null) return { agentId: `uuid-${uuid}`, source: 'dmi-uuid' };
  if (fp.bootMac !== null) return { agentId: macId(fp.bootMac), source: 'boot-mac' };
  const physicalMacs = fp.nics.flatMap((nic) => (!nic.virtual && nic.mac !== null ? [nic.mac] : [])).sort();
  if (physicalMacs[0] !== undefined) return { agentId: macId(physicalMacs[0]), source: 'lowest-mac' };
  const serial = topicSafe(fp.dmi.serial);
  if (serial !== null) return { agentId: `serial-${serial}`, source: 'dmi-serial' };
  throw new Error(
    'cannot derive an agent id: no real DMI UUID, no BOOTIF= on the kernel command line, no physical NIC with a MAC, and no DMI serial',
  );
}

function macId(mac: string): string {
  return `mac-${mac.replace(/:/g, '')}`;
}

/** A serial as a topic level: anything outside [0-9A-Za-z._-] becomes `_`; null if nothing real is left. */
function topicSafe(serial: string | null): string | null {
  if (serial === null) return null;
  const safe = serial.replace(/[^0-9A-Za-z._-]/g, '_').slice(0, MAX_ID_BODY);
  return /[0-9A-Za-z]/.test(safe) ? safe : null;
}
