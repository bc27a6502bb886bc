import { ApiServer } from './api/server.js';
import { AgentCredentials } from './auth/agent-credentials.js';
import { adminVerbs } from './api/verbs/admin.js';
import { buildVerbs } from './api/verbs/build.js';
import { consoleVerbs } from './api/verbs/console.js';
import { demoVerbs } from './api/verbs/demo.js';
import { doctorVerbs } from './api/verbs/doctor.js';
import { identityVerbs } from './api/verbs/identity.js';
import { namingVerbs } from './api/verbs/naming.js';
import { nodeVerbs } from './api/verbs/nodes.js';
import { policyVerbs } from './api/verbs/policy.js';
import { powerVerbs } from './api/verbs/power.js';
import { recordVerbs } from './api/verbs/records.js';
import { userVerbs } from './api/verbs/users.js';
import { networkVerbs } from './api/verbs/network.js';
import { BuildService } from './provision/service.js';
import { ConsoleService } from './console/service.js';
import type { Context, Extension } from './context.js';
import { SimCluster, type SimClusterOptions } from './demo/sim-cluster.js';
import { Doctor } from './doctor/service.js';
import { DashboardRoute } from './http/dashboard/route.js';
import { MetricsRoute } from './http/metrics-route.js';
import { Identification } from './identify/service.js';
import { Ingest } from './ingest.js';
import { ProvisioningNetwork } from './network/service.js';
import { PowerService } from './power/service.js';
import { BmcBios } from './records/bios-bmc.js';
import { DriverActions } from './state/actions.js';
import { StateManager } from './state/manager.js';

/**
 * The controller's features in start order: each sees what the ones before it set up.
 * `demoOptions` tunes the simulated nodes of `--demo` (tests boot them faster).
 */
export function defaultExtensions(ctx: Pick<Context, 'config'>, demoOptions: Partial<SimClusterOptions> = {}): Extension[] {
  const identification = new Identification();
  const power = new PowerService();
  const consoles = new ConsoleService();
  const build = new BuildService(power);
  const network = ctx.config.network ? new ProvisioningNetwork(build) : null;
  const doctor = new Doctor(power, build, network);
  const demo = ctx.config.demo > 0 ? new SimCluster({ count: ctx.config.demo, heartbeatMs: ctx.config.heartbeatIntervalS * 1000, consoles, ...demoOptions }) : null;
  const state = new StateManager(identification, new DriverActions(power, (node, lines) => consoles.tail(node, lines)));
  const api = new ApiServer([
    ...nodeVerbs(build, power),
    ...identityVerbs(identification),
    ...adminVerbs,
    ...namingVerbs,
    ...powerVerbs(power),
    ...consoleVerbs(consoles),
    ...buildVerbs(build),
    ...recordVerbs(new BmcBios((node) => power.driverOptionsOf(node)), power),
    ...policyVerbs(),
    ...userVerbs,
    ...networkVerbs(network),
    ...doctorVerbs(doctor),
    ...demoVerbs(demo),
  ]);
  // The network sees each HTTP request before netboot answers it (its boot steps: script, kernel).
  const exts: Extension[] = [new Ingest(), identification, new AgentCredentials(), power, state, consoles, ...(network ? [network] : []), build, doctor, api, new MetricsRoute(), new DashboardRoute()];
  if (demo) exts.push(demo);
  return exts;
}
