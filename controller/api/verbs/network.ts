import type { ProvisioningNetwork } from '../../network/service.js';
import { ApiError, verb } from '../verb.js';

/** The provisioning network's verbs; without `network:` in the config they say so. */
export function networkVerbs(network: ProvisioningNetwork | null) {
  const running = (): ProvisioningNetwork => {
    if (!network) throw new ApiError('muster runs no DHCP here: the controller config has no network: section (docs/network.md)');
    return network;
  };
  return [verb('dhcp-show', async () => running().renderedConfig()), verb('dhcp-leases', async () => running().leases())];
}
