/**
 * Boot hooks report a phase to the running agent over a unix socket under ROOT/run/muster.
 * One JSON line each way: `{"phase":"run"}` → `{"ok":true,"bootId":"…"}` or `{"ok":false,"error":"…"}`.
 */
import { rmSync } from 'node:fs';
import net from 'node:net';
import type { AgentPhase } from '../shared/protocol.js';
import { AGENT_PHASES, isAgentPhase } from '../shared/wire.js';

export type PhaseReply = { ok: true; bootId: string } | { ok: false; error: string };

const MAX_REQUEST_BYTES = 1024;
const REPLY_TIMEOUT_MS = 5_000;

/** Listens on `socketPath` (replacing a stale socket a dead agent left) and hands each phase to `onPhase`. */
export async function servePhaseRequests(socketPath: string, onPhase: (phase: AgentPhase) => PhaseReply): Promise<net.Server> {
  if (await answers(socketPath)) throw new Error(`another agent already listens on ${socketPath}`);
  rmSync(socketPath, { force: true });
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0 && buffered.length <= MAX_REQUEST_BYTES) return;
      socket.end(JSON.stringify(handle(buffered.slice(0, newline < 0 ? MAX_REQUEST_BYTES : newline), onPhase)) + '\n');
      socket.removeAllListeners('data');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${socketPath}: ${err.message}`)));
    server.listen(socketPath, () => resolve());
  });
  return server;
}

function handle(line: string, onPhase: (phase: AgentPhase) => PhaseReply): PhaseReply {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { ok: false, error: 'request is not JSON (expected {"phase":"run"})' };
  }
  const phase = (request as { phase?: unknown } | null)?.phase;
  if (!isAgentPhase(phase)) return { ok: false, error: `unknown phase ${JSON.stringify(phase)} (expected one of ${AGENT_PHASES.join(', ')})` };
  return onPhase(phase);
}

/** The running agent's reply, or null when no agent listens on `socketPath`. */
export function requestPhase(socketPath: string, phase: AgentPhase): Promise<PhaseReply | null> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let reply = '';
    socket.setEncoding('utf8');
    socket.setTimeout(REPLY_TIMEOUT_MS, () => socket.destroy(new Error(`agent on ${socketPath} did not answer within ${REPLY_TIMEOUT_MS} ms`)));
    socket.on('connect', () => socket.write(JSON.stringify({ phase }) + '\n'));
    socket.on('data', (chunk: string) => (reply += chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(null);
      else reject(new Error(`phase ${phase}: talking to the agent on ${socketPath} failed: ${err.message}`));
    });
    socket.on('end', () => {
      try {
        resolve(JSON.parse(reply) as PhaseReply);
      } catch {
        reject(new Error(`phase ${phase}: the agent on ${socketPath} sent an unreadable reply`));
      }
    });
  });
}

/** True when something accepts connections on the socket. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
