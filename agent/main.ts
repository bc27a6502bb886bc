/**
 * muster agent: reports this machine's fingerprint, boot phase and heartbeats to the controller.
 * Runs from the initramfs and the installed OS alike, as one bundled file (dist/agent.js).
 */
import { readFileSync } from 'node:fs';
import type { AgentPhase, Fingerprint } from '../shared/protocol.js';
import { Topics } from '../shared/topics.js';
import { parseAgentArgs, USAGE, UsageError, type AgentArgs } from './args.js';
import { bootParams } from './cmdline.js';
import { parseControllerUrls, type ControllerAddress } from './controller-url.js';
import { readFingerprint, readUptime, withNeighbours } from './fingerprint/index.js';
import { readDisks } from './fingerprint/disks.js';
import { SysRoot } from './fingerprint/sysfs.js';
import { diskRuleFromCmdline, pickDisk } from '../shared/disk-rule.js';
import { deriveIdentity } from './identity.js';
import { AgentLink, agentPassword, publishOnce } from './link.js';
import { describeNeighbours, listenLldp, type LldpListen } from './lldp-listen.js';
import { AgentMessages, uptimeClock } from './messages.js';
import { requestPhase, servePhaseRequests } from './phase-ipc.js';
import { RunDir } from './run-dir.js';
import { SecretStore } from './secret-store.js';

/** package.json's version, put in by the bundler (scripts/build.mjs): the bundle carries no package.json. */
declare const AGENT_VERSION: string;

const PHASE_SOCKET_DELAY_MS = 250;
/** Just over a switch's default 30 s LLDP transmit interval. */
const DEFAULT_LLDP_WAIT_MS = 35_000;

const log = (line: string) => process.stderr.write(`muster-agent: ${line}\n`);

/** The installer's target disk: its name on stdout, or (exit 1) why no disk matches. */
function printPickedDisk(root: string, rule: string): number {
  const picked = pickDisk(diskRuleFromCmdline(rule), readDisks(new SysRoot(root)));
  process.stdout.write(`${picked.ok ? picked.value.name : picked.error}\n`);
  return picked.ok ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const args = parseAgentArgs(argv);
  if (args.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.command === 'pick-disk') return printPickedDisk(args.root, args.diskRule!);
  const runDir = new RunDir(args.root);
  if (args.command === 'phase') return reportPhase(args, runDir, args.phase!);

  const plain = readFingerprint(args.root);
  const lldp = lldpListenOf(args, plain);
  const afterHello = args.lldpBackground && args.command === 'run' ? lldp : null;
  const fingerprint = lldp === null || afterHello !== null ? plain : withNeighbours(plain, await listenLldp(lldp));
  const identity = deriveIdentity(fingerprint);
  if (args.command === 'id-only') {
    process.stdout.write(`${JSON.stringify({ ...identity, fingerprint }, null, 2)}\n`);
    return 0;
  }
  const controllers = controllersOf(args);
  const token = tokenOf(args);
  const messages = new AgentMessages(
    { agentId: identity.agentId, bootId: runDir.bootId(), agentVersion: AGENT_VERSION, fingerprint, intervalMs: args.intervalMs },
    uptimeClock(readUptime(args.root)),
  );
  const phase = args.phase ?? runDir.savedPhase() ?? 'kernel';
  runDir.savePhase(phase);
  log(`${identity.agentId} (from ${identity.source}), boot ${messages.facts.bootId}, phase ${phase}, controller ${controllers.map((c) => c.display).join(',')}`);

  // Signals are caught from the start: a SIGTERM that lands while the phase socket is still being
  // set up must still say goodbye.
  const signalled = new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log(`${signal}: saying goodbye`);
      resolve();
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  const secrets = new SecretStore(args.root);
  const onSecret = (secret: string) => {
    for (const problem of secrets.save(secret)) log(`could not keep the secret: ${problem}`);
  };
  const link = new AgentLink({ controllers, messages, phase, heartbeatMs: args.intervalMs, livenessMs: args.livenessMs, token, secret: secrets.read(), onSecret, ca: caOf(args), log });
  // Connect first: the hello is what the controller waits for. The phase socket follows the first
  // attempt (or 250 ms): listening loads Node's cluster module, ~2 ms that would delay the hello.
  link.start();
  const stopListening = new AbortController();
  const listening = afterHello
    ? listenLldp({ ...afterHello, signal: stopListening.signal, onHeard: (heard) => link.updateFingerprint(withNeighbours(plain, heard), `LLDP: ${describeNeighbours(heard)}`) })
    : Promise.resolve();
  await Promise.race([link.firstAttempt, signalled, new Promise((resolve) => setTimeout(resolve, PHASE_SOCKET_DELAY_MS).unref())]);
  const ipc = await servePhaseRequests(runDir.socketPath, (next) => {
    runDir.savePhase(next);
    link.setPhase(next);
    return { ok: true, bootId: messages.facts.bootId };
  });
  await signalled;
  stopListening.abort();
  await listening;
  ipc.close();
  await link.stop();
  log('stopped');
  return 0;
}

/**
 * How to listen for the LLDP neighbours on this machine's wire; null: not at all. A --root other
 * than / is a captured tree: its NICs get neighbours only when --lldp-wait asks for listening.
 */
function lldpListenOf(args: AgentArgs, fingerprint: Fingerprint): LldpListen | null {
  const waitMs = args.lldpWaitMs ?? (args.root === '/' ? DEFAULT_LLDP_WAIT_MS : null);
  if (waitMs === null) return null;
  const expect = fingerprint.nics.filter((nic) => !nic.virtual && nic.link === 'up').map((nic) => nic.name);
  return { waitMs, expect, log };
}

/** `phase PHASE`: tell the running agent; with none running, publish the state message ourselves. */
async function reportPhase(args: AgentArgs, runDir: RunDir, phase: AgentPhase): Promise<number> {
  const reply = await requestPhase(runDir.socketPath, phase);
  if (reply?.ok) {
    log(`phase ${phase} handed to the running agent (boot ${reply.bootId})`);
    return 0;
  }
  if (reply) throw new Error(`the running agent refused phase ${phase}: ${reply.error}`);
  const controllers = controllersOf(args);
  const fingerprint = readFingerprint(args.root);
  const { agentId } = deriveIdentity(fingerprint);
  const messages = new AgentMessages({ agentId, bootId: runDir.bootId(), agentVersion: AGENT_VERSION, fingerprint }, uptimeClock(readUptime(args.root)));
  runDir.savePhase(phase);
  const controller = await publishOnce(controllers, agentId, agentPassword(new SecretStore(args.root).read(), tokenOf(args)), new Topics().agent(agentId, 'state'), messages.state(phase), caOf(args));
  log(`no agent running: state ${phase} sent to ${controller.display} as ${agentId} (boot ${messages.facts.bootId})`);
  return 0;
}

/** The brokers from --controller, else `muster.controller=`: one URL, or several separated by commas. */
function controllersOf(args: AgentArgs): ControllerAddress[] {
  const urls = args.controller ?? bootParams(readText(`${args.root}/proc/cmdline`) ?? '').controller;
  if (urls === null) {
    throw new Error('no controller: pass --controller mqtt://HOST:PORT or boot with muster.controller=mqtt://HOST:PORT on the kernel command line');
  }
  return parseControllerUrls(urls);
}

function tokenOf(args: AgentArgs): string | null {
  if (args.tokenFile === null) return process.env.MUSTER_TOKEN || bootParams(readText(`${args.root}/proc/cmdline`) ?? '').token;
  const token = readText(args.tokenFile)?.trim();
  if (!token) throw new Error(`token file ${args.tokenFile} is missing or empty`);
  return token;
}

function caOf(args: AgentArgs): Buffer | null {
  if (args.caFile === null) return null;
  const pem = readText(args.caFile);
  if (!pem) throw new Error(`--ca ${args.caFile}: no such file`);
  return Buffer.from(pem);
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    log(err instanceof UsageError ? `${err.message}\n${USAGE}` : err.message);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
