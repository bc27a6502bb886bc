/**
 * `redfish://user:pass@host[:port]/redfish/v1/Systems/1` (short: `redfish://host/Systems/1`) —
 * a DMTF Redfish ComputerSystem over HTTPS with basic auth. Status reads `PowerState`; actions
 * POST `#ComputerSystem.Reset` with ResetType On / ForceOff / ForceRestart / PowerCycle, to the
 * target the System advertises, after checking `ResetType@Redfish.AllowableValues`.
 * `?insecure=1` (or the node's `insecure` option) accepts a self-signed certificate. The one-time
 * network boot PATCHes the System's `Boot` (BootSourceOverrideEnabled Once, Target Pxe, and Mode
 * UEFI or Legacy when the node's firmware is known and the System has the Mode property).
 */
import type { BootMode, PowerBackend, PowerDriverFactory, PowerState } from '../driver.js';
import { redfishClient } from '../redfish-client.js';

type ResetType = 'On' | 'ForceOff' | 'ForceRestart' | 'PowerCycle';

interface ComputerSystem {
  PowerState?: string;
  Actions?: Record<string, { target?: string; 'ResetType@Redfish.AllowableValues'?: string[] } | undefined>;
  Boot?: { BootSourceOverrideMode?: string; 'BootSourceOverrideTarget@Redfish.AllowableValues'?: string[] };
}

const OVERRIDE_MODE: Record<BootMode, string> = { uefi: 'UEFI', bios: 'Legacy' };

const toPowerState = (value: string | undefined): PowerState => {
  if (value === 'Off') return 'off';
  // PoweringOff still draws power; Paused is a powered system.
  if (value === 'On' || value === 'PoweringOn' || value === 'PoweringOff' || value === 'Paused') return 'on';
  return 'unknown';
};

export const redfishDriver: PowerDriverFactory = {
  scheme: 'redfish',
  nativeCycleByDefault: false, // PowerCycle is optional in the schema; off → verify → on works everywhere
  params: ['insecure'],
  create({ url, opts }) {
    const { system, request } = redfishClient(url, opts);
    const getSystem = async (signal: AbortSignal) => (await request('GET', system, signal)) as ComputerSystem;

    const resetAction = async (type: ResetType, signal: AbortSignal): Promise<void> => {
      const action = (await getSystem(signal)).Actions?.['#ComputerSystem.Reset'];
      const allowed = action?.['ResetType@Redfish.AllowableValues'];
      if (allowed && !allowed.includes(type)) throw new Error(`the BMC does not allow ResetType ${type} (allowed: ${allowed.join(', ') || 'none'})`);
      // The target is usually a path; some BMCs give an absolute URL: keep its path on our host.
      const target = action?.target ? new URL(action.target, 'https://bmc').pathname : `${system}/Actions/ComputerSystem.Reset`;
      await request('POST', target, signal, { ResetType: type });
    };

    const netbootOnce = async (mode: BootMode | null, signal: AbortSignal): Promise<void> => {
      const boot = (await getSystem(signal)).Boot;
      if (!boot) throw new Error('the System has no Boot property: its BMC cannot override the boot source');
      const targets = boot['BootSourceOverrideTarget@Redfish.AllowableValues'];
      if (targets && !targets.includes('Pxe')) throw new Error(`the BMC does not allow BootSourceOverrideTarget Pxe (allowed: ${targets.join(', ') || 'none'})`);
      // A BMC without the Mode property refuses it in a PATCH: send it only where the System has it.
      const withMode = mode !== null && boot.BootSourceOverrideMode !== undefined;
      await request('PATCH', system, signal, { Boot: { BootSourceOverrideEnabled: 'Once', BootSourceOverrideTarget: 'Pxe', ...(withMode && { BootSourceOverrideMode: OVERRIDE_MODE[mode] }) } });
    };

    const backend: PowerBackend = {
      status: async (signal) => toPowerState((await getSystem(signal)).PowerState),
      on: (signal) => resetAction('On', signal),
      off: (signal) => resetAction('ForceOff', signal),
      reset: (signal) => resetAction('ForceRestart', signal),
      cycle: (signal) => resetAction('PowerCycle', signal),
      netbootOnce,
    };
    return backend;
  },
};
