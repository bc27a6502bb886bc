import { spawn, type ChildProcess } from 'node:child_process';
import { lastLine, runProgram } from '../../process/run.js';
import type { ConsoleDriver, ConsoleKind, ConsoleSink } from '../driver.js';
import { parseUrl, redactUrl, unbracket } from '../target.js';

const DEFAULT_IPMI_PORT = 623;

export interface SolTarget {
  kind: 'sol';
  host: string;
  port: number;
  user: string;
  password: string;
}

/** `sol:` (the BMC of the node's `ipmi://user:pass@host:port` power target) or `sol:ipmi://…` (its own). */
export const solConsole: ConsoleKind<SolTarget> = {
  kind: 'sol',
  syntax: 'sol:[ipmi://USER:PASS@HOST[:PORT]]',
  claims: (target) => target.startsWith('sol:'),
  parse(target, ctx) {
    const explicit = target.slice('sol:'.length);
    const ipmi = explicit !== '' ? explicit : ctx.ipmiUrl;
    if (!ipmi) throw new Error("sol: needs the node's IPMI power target (ipmi://USER:PASS@HOST[:PORT])");
    const url = parseUrl(ipmi);
    if (!url || url.protocol !== 'ipmi:' || !url.hostname) throw new Error(`"${redactUrl(ipmi)}" is not ipmi://USER:PASS@HOST[:PORT]`);
    if (!url.username) throw new Error('the IPMI target has no user name');
    return {
      kind: 'sol',
      host: unbracket(url.hostname),
      port: url.port ? Number(url.port) : DEFAULT_IPMI_PORT,
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    };
  },
  create: (t) => new SolConsole(t),
};

export interface SolOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The ipmitool binary (tests and unusual installs). */
  ipmitool?: string;
  /** How long activation may take before the attempt is abandoned. */
  activateTimeoutMs?: number;
}

/** ipmitool's escape character; recognised only at the start of a line. */
const SOL_ESCAPE = '~';
/** ipmitool prints this on stdout once the session carries data; nothing before it is console output. */
const OPERATIONAL = /\[SOL Session operational[^\n]*\n/;

/**
 * IPMI serial-over-LAN through `ipmitool -I lanplus -C 3 … sol activate`, one long-lived child
 * process per console. The password travels in the child's environment (`-E`), never in its
 * arguments, which any local user can read in `ps`.
 */
export class SolConsole implements ConsoleDriver {
  readonly target: string;
  private child: ChildProcess | null = null;
  private atLineStart = true;

  constructor(private readonly opts: SolOptions) {
    this.target = `sol:ipmi://${opts.user}:***@${opts.host}:${opts.port}`;
  }

  /** ipmitool arguments for `verb` (`activate` or `deactivate`); no secret among them. */
  args(verb: 'activate' | 'deactivate'): string[] {
    const { host, port, user } = this.opts;
    // -C 3: without an explicit cipher suite every call waits ~10 s for negotiation.
    return ['-I', 'lanplus', '-C', '3', '-H', host, '-p', String(port), '-U', user, '-E', 'sol', verb];
  }

  async open(sink: ConsoleSink): Promise<void> {
    await this.close();
    // A session left by a killed ipmitool blocks activation ("SOL payload already active").
    // Deactivating fails when there is none, the usual case; activation reports real failures.
    await this.run(this.args('deactivate')).catch(() => undefined);
    const child = this.spawn(this.args('activate'));
    this.child = child;
    this.atLineStart = true;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
    const why = () => lastLine(stderr.replace(/tcgetattr:[^\n]*\n?/g, '')) || 'ipmitool exited';

    await new Promise<void>((resolve, reject) => {
      let banner = Buffer.alloc(0);
      let operational = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`SOL activation at ${this.opts.host}:${this.opts.port} timed out after ${this.activateTimeoutMs} ms (ipmitool said: ${why()})`));
      }, this.activateTimeoutMs);
      child.stdout!.on('data', (chunk: Buffer) => {
        if (this.child !== child) return;
        if (operational) return sink.data(chunk);
        banner = Buffer.concat([banner, chunk]);
        const m = OPERATIONAL.exec(banner.toString('latin1'));
        if (!m) return;
        operational = true;
        clearTimeout(timer);
        resolve();
        const rest = banner.subarray(m.index + m[0].length);
        if (rest.length > 0) sink.data(rest);
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run stdbuf ${this.ipmitool}: ${err.message}`));
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        const status = signal ? `signal ${signal}` : `exit ${code}`;
        if (!operational) reject(new Error(`SOL activation at ${this.opts.host}:${this.opts.port} failed: ${why()} (${status})`));
        else if (this.child === child) {
          this.child = null;
          sink.closed(`SOL session at ${this.opts.host}:${this.opts.port} ended: ${why()} (${status})`);
        }
      });
    });
  }

  async write(data: Buffer): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) throw new Error(`SOL session at ${this.opts.host}:${this.opts.port} is not active`);
    const escaped = escapeSolInput(data, this.atLineStart);
    this.atLineStart = escaped.atLineStart;
    await new Promise<void>((resolve, reject) => stdin.write(escaped.data, (err) => (err ? reject(new Error(`SOL write failed: ${err.message}`)) : resolve())));
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // `~.` ends the session cleanly so the BMC frees it; kill if ipmitool does not go.
    child.stdin!.end(this.atLineStart ? `${SOL_ESCAPE}.` : `\r${SOL_ESCAPE}.`);
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  private get ipmitool(): string {
    return this.opts.ipmitool ?? 'ipmitool';
  }

  private get activateTimeoutMs(): number {
    return this.opts.activateTimeoutMs ?? 20_000;
  }

  private spawn(args: string[]): ChildProcess {
    // ipmitool prints its "operational" banner through stdio, which a pipe fully buffers: on a
    // quiet console it would never arrive. stdbuf (coreutils) makes stdout line-buffered.
    return spawn('stdbuf', ['-oL', this.ipmitool, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: this.env });
  }

  /** A short ipmitool call, run to its end within the activation timeout. */
  private async run(args: string[]): Promise<void> {
    const r = await runProgram(this.ipmitool, args, { env: this.env, signal: AbortSignal.timeout(this.activateTimeoutMs) });
    if (r.code !== 0) throw new Error(`ipmitool exit ${r.code}: ${lastLine(r.stderr) || 'no output'}`);
  }

  private get env(): NodeJS.ProcessEnv {
    return { ...process.env, IPMI_PASSWORD: this.opts.password };
  }
}

/**
 * Doubles the ipmitool escape character where ipmitool would take it as a command (at the start
 * of a line), so a user's `~.` reaches the console instead of ending the session.
 */
export function escapeSolInput(data: Buffer, atLineStart: boolean): { data: Buffer; atLineStart: boolean } {
  const out: number[] = [];
  let lineStart = atLineStart;
  for (const byte of data) {
    if (lineStart && byte === SOL_ESCAPE.charCodeAt(0)) out.push(byte);
    out.push(byte);
    lineStart = byte === 0x0d || byte === 0x0a;
  }
  return { data: Buffer.from(out), atLineStart: lineStart };
}
