/**
 * `muster doctor`'s judgements: each turns facts the controller gathered (service.ts) into one
 * check with its verdict and, for a failure, the fix. Pure, so each verdict is tested on its own;
 * docs/operations.md ("muster doctor") explains every check and its limits.
 */
import type { DoctorCheck, PowerResult } from '../../shared/verbs/results.js';
import type { ControllerHealth } from '../context.js';

/** Less free space than this in the data directory fails: a store write needs room for a whole copy, consoles log on. */
export const MIN_FREE_BYTES = 1024 ** 3;
/** A certificate that expires within this fails: time to renew it before nodes and clients refuse it. */
export const TLS_RENEW_MS = 14 * 24 * 3600_000;
/** An agent clock further off than this fails: logs, journals and console lines no longer line up. */
export const MAX_CLOCK_OFFSET_MS = 2000;

const ok = (id: string, title: string, detail: string): DoctorCheck => ({ id, title, status: 'ok', detail, fix: null });
const skip = (id: string, title: string, detail: string): DoctorCheck => ({ id, title, status: 'skip', detail, fix: null });
const fail = (id: string, title: string, detail: string, fix: string, since?: number): DoctorCheck => ({ id, title, status: 'fail', detail, fix, ...(since !== undefined && { since }) });

/** `a, b, c and 4 more`: long lists stay one line. */
export function someOf(names: readonly string[], shown = 5): string {
  return names.length <= shown ? names.join(', ') : `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function storeCheck(health: ControllerHealth): DoctorCheck {
  const d = health.degraded;
  if (!d) return ok('store', 'store writable', 'the last store write succeeded: changes are accepted');
  return fail('store', 'store writable', `degraded since ${iso(d.since)}: ${d.reason}; changes are refused until a write succeeds`, 'free space on the data directory\'s filesystem, or bring back the PostgreSQL database the message names (or fix what refuses the write): the write is retried by itself and changes are accepted again once it succeeds', d.since);
}

export interface DataDirFacts {
  dir: string;
  /** Permission bits (`st.mode & 0o7777`). */
  mode: number;
  uid: number;
  /** The uid the controller runs as. */
  ownUid: number;
  freeBytes: number;
}

export function dataDirCheck(f: DataDirFacts): DoctorCheck {
  const title = 'data directory';
  const gib = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GiB`;
  const problems: string[] = [];
  const fixes: string[] = [];
  if (f.mode !== 0o700) {
    problems.push(`mode ${f.mode.toString(8).padStart(4, '0')} (it holds BMC passwords: 0700)`);
    fixes.push(`chmod 0700 ${f.dir}`);
  }
  if (f.uid !== f.ownUid) {
    problems.push(`owned by uid ${f.uid}, the controller runs as uid ${f.ownUid}`);
    fixes.push(`chown -R ${f.ownUid} ${f.dir}`);
  }
  if (f.freeBytes < MIN_FREE_BYTES) {
    problems.push(`only ${gib(f.freeBytes)} free (under ${gib(MIN_FREE_BYTES)})`);
    fixes.push('free space on its filesystem (old console logs, images)');
  }
  if (problems.length) return fail('data-dir', title, `${f.dir}: ${problems.join('; ')}`, fixes.join('; '));
  return ok('data-dir', title, `${f.dir}: mode 0700, owned by the controller's user, ${gib(f.freeBytes)} free`);
}

/** `validTo`: the certificate's end, null without TLS; `error`: it could not be read. */
export function tlsCheck(cert: { path: string; validTo: number } | { path: string; error: string } | null, now: number): DoctorCheck {
  const title = 'TLS certificate';
  if (!cert) return skip('tls', title, 'not configured (tls: in the controller config): MQTT, WebSocket and HTTP are in the clear');
  if ('error' in cert) return fail('tls', title, `${cert.path}: ${cert.error}`, 'point tls.cert at a readable PEM certificate and restart the controller');
  const renew = `renew ${cert.path} and restart the controller`;
  if (cert.validTo <= now) return fail('tls', title, `${cert.path} expired at ${iso(cert.validTo)}: clients and agents refuse it`, renew);
  const days = Math.floor((cert.validTo - now) / (24 * 3600_000));
  if (cert.validTo - now < TLS_RENEW_MS) return fail('tls', title, `${cert.path} expires at ${iso(cert.validTo)} (in ${days} days)`, renew);
  return ok('tls', title, `${cert.path} valid until ${iso(cert.validTo)} (${days} days)`);
}

const NO_NETWORK = 'no network: section in the controller config: muster runs no DHCP or TFTP (docs/network.md)';

/** `pid`: the supervised dnsmasq's, null when it is not running; `network` false without `network:`. */
export function dhcpCheck(network: { interface: string; pid: number | null } | null): DoctorCheck {
  const title = 'DHCP (dnsmasq)';
  if (!network) return skip('dhcp', title, NO_NETWORK);
  if (network.pid === null) return fail('dhcp', title, 'muster\'s dnsmasq is not running (it is restarted with backoff)', 'read the controller log (network: dnsmasq stopped …) and dataDir/network/dnsmasq.log for why it exits');
  return ok('dhcp', title, `muster's dnsmasq runs (pid ${network.pid}) on ${network.interface}`);
}

export interface TftpFacts {
  file: string;
  address: string | null;
  /** What the read got: bytes of its first block, or the error. */
  outcome: { ok: true; bytes: number } | { ok: false; error: string };
}

export function tftpCheck(t: TftpFacts | null): DoctorCheck {
  const title = 'TFTP';
  if (!t) return skip('tftp', title, NO_NETWORK);
  const where = `${t.file} from ${t.address ?? '(no address)'}`;
  if (t.outcome.ok) return ok('tftp', title, `read ${where}: first block of ${t.outcome.bytes} bytes`);
  return fail('tftp', title, `read ${where}: ${t.outcome.error}`, 'check that dnsmasq runs (DHCP check), that the interface has its address, and that network.tftpRoot holds the loaders (Debian\'s ipxe package)');
}

/** One file that is not as it should be: a loader, or an image's kernel or initrd. */
export interface FileProblem {
  what: string;
  problem: string;
}

export function loadersCheck(loaders: { dir: string; files: readonly string[]; problems: readonly FileProblem[]; verified: number } | null): DoctorCheck {
  const title = 'iPXE loaders';
  if (!loaders) return skip('loaders', title, NO_NETWORK);
  if (loaders.problems.length) {
    return fail('loaders', title, `${loaders.dir}: ${loaders.problems.map((p) => `${p.what} ${p.problem}`).join('; ')}`, "install (or reinstall) Debian's ipxe package, or point network.tftpRoot at a directory that holds them");
  }
  const sums = loaders.verified === loaders.files.length ? 'checksums match the ipxe package' : loaders.verified > 0 ? `${loaders.verified} checked against the ipxe package` : 'no package checksums to compare';
  return ok('loaders', title, `${loaders.dir}: ${loaders.files.join(', ')} present; ${sums}`);
}

export function imagesCheck(images: { count: number; problems: readonly FileProblem[] }): DoctorCheck {
  const title = 'catalog images';
  if (images.problems.length) {
    return fail('images', title, `${images.problems.length} of the catalog's files: ${someOf(images.problems.map((p) => `${p.what} ${p.problem}`), 3)}`, 'restore the file, or add the image again (muster image add NAME … --replace) so its checksum is taken anew');
  }
  if (images.count === 0) return ok('images', title, 'the netboot catalog is empty (muster image build / image add)');
  return ok('images', title, `${images.count} image(s): every kernel and initrd present with the checksum taken when it was added`);
}

export interface RefusedAgent {
  agentId: string;
  reason: string;
  times: number;
  last: number;
}

export function tokensCheck(t: { store: number; config: number; anonymousAgents: boolean; refused: readonly RefusedAgent[] }): DoctorCheck {
  const title = 'agent tokens';
  const have = `${t.store + t.config} agent token(s) (${t.store} minted, ${t.config} in the config file)${t.anonymousAgents ? '; agents may also connect without one (auth.anonymousAgents)' : ''}`;
  if (t.refused.length) {
    const who = someOf(t.refused.map((r) => `${r.agentId} (${r.times}×, last ${iso(r.last)}: ${r.reason.replace(`agent ${r.agentId}: `, '')})`), 3);
    return fail('tokens', title, `${t.refused.length} agent(s) refused in the last hour: ${who}`, 'give these agents a current token (muster token create; --token-file or muster.token= on the kernel command line): a revoked token stays refused');
  }
  return ok('tokens', title, `${have}; no agent refused for its token in the last hour`);
}

/** Node power failures grouped by their cause (the error with the node's name taken out), the largest group first. */
export function failuresByCause(results: readonly PowerResult[]): Array<{ cause: string; nodes: string[] }> {
  const groups = new Map<string, string[]>();
  for (const r of results) {
    if (r.ok) continue;
    const cause = (r.error ?? r.code ?? 'failed').replace(new RegExp(`^node ${r.node}: `), '');
    groups.set(cause, [...(groups.get(cause) ?? []), r.node]);
  }
  return [...groups].map(([cause, nodes]) => ({ cause, nodes })).sort((a, b) => b.nodes.length - a.nodes.length);
}

/** `withoutTarget`, `inFlight`: nodes not queried (no power target; another power action running). */
export function powerCheck(results: readonly PowerResult[], skipped: { withoutTarget: number; inFlight: number }): DoctorCheck {
  const title = 'power targets';
  const none = [
    ...(skipped.withoutTarget ? [`; ${skipped.withoutTarget} node(s) have no power target (not checked)`] : []),
    ...(skipped.inFlight ? [`; ${skipped.inFlight} node(s) busy with another power action (not checked)`] : []),
  ].join('');
  if (results.length === 0) return ok('power', title, skipped.inFlight ? `all ${skipped.inFlight} node(s) with a power target are busy with another power action (not checked)` : 'no node has a power target');
  const causes = failuresByCause(results);
  const failed = causes.reduce((n, c) => n + c.nodes.length, 0);
  if (failed === 0) return ok('power', title, `${results.length} node(s) answered a power status query${none}`);
  const summary = causes.map((c) => `${c.nodes.length}× ${c.cause} (${someOf(c.nodes, 3)})`).join('; ');
  return fail('power', title, `${failed} of ${results.length} node(s) did not answer: ${summary}${none}`, 'check each cause: the BMC address and network, its credentials (muster set NODE power=URL), or the power driver (muster power status NODE shows one)');
}

/** A node's clock offset as its agent's messages show it (agent time − controller receive time). */
export interface NodeClock {
  node: string;
  offsetMs: number;
}

export function clockCheck(clocks: readonly NodeClock[], bound: number): DoctorCheck {
  const title = 'agent clocks';
  if (clocks.length === 0) return ok('clock', title, bound ? `none of the ${bound} bound node(s) has reported its clock since the controller started` : 'no node is bound to an agent');
  const off = clocks.filter((c) => Math.abs(c.offsetMs) > MAX_CLOCK_OFFSET_MS).sort((a, b) => Math.abs(b.offsetMs) - Math.abs(a.offsetMs));
  const signed = (ms: number) => `${ms >= 0 ? '+' : '−'}${(Math.abs(ms) / 1000).toFixed(1)} s`;
  if (off.length) {
    return fail('clock', title, `${off.length} of ${clocks.length} node(s) off by more than ${MAX_CLOCK_OFFSET_MS / 1000} s: ${someOf(off.map((c) => `${c.node} ${signed(c.offsetMs)}`))}`, 'run NTP (chrony, systemd-timesyncd) on the nodes and the controller against one source');
  }
  const worst = clocks.reduce((m, c) => Math.max(m, Math.abs(c.offsetMs)), 0);
  return ok('clock', title, `${clocks.length} node(s) within ${MAX_CLOCK_OFFSET_MS / 1000} s of the controller (largest offset ${(worst / 1000).toFixed(1)} s)`);
}
