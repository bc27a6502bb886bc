/**
 * A minimal QMP client: one connection per session over a unix socket, newline-delimited JSON.
 * Greeting → `qmp_capabilities` → commands; asynchronous events are skipped.
 */
import net from 'node:net';

/** The VM's QMP socket does not exist or nobody listens on it: the qemu process is gone. */
export class QmpUnreachableError extends Error {
  override readonly name = 'QmpUnreachableError';
}

export interface QmpSession {
  /** Runs a command and resolves to its `return` value; rejects with the QMP error description. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Sends `quit`: resolves when qemu replies or closes the connection (it exits either way). */
  quit(): Promise<void>;
}

type Reply = { return?: unknown; error?: { class?: string; desc?: string }; QMP?: unknown; event?: string };

export async function withQmp<T>(socketPath: string, signal: AbortSignal, use: (qmp: QmpSession) => Promise<T>): Promise<T> {
  const sock = net.connect(socketPath);
  const onAbort = () => sock.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });

  let buffered = '';
  const replies: Reply[] = [];
  let waiter: (() => void) | undefined;
  let failure: Error | undefined;
  let closed = false;
  sock.on('data', (d: Buffer) => {
    buffered += d.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      try {
        const msg = JSON.parse(line) as Reply;
        if (!msg.event) replies.push(msg);
      } catch {
        failure = new Error(`QMP sent a line that is not JSON: ${line.slice(0, 120)}`);
      }
    }
    waiter?.();
  });
  sock.on('error', (err: NodeJS.ErrnoException) => {
    failure =
      err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
        ? new QmpUnreachableError(`no qemu listening on ${socketPath} (${err.code})`)
        : new Error(`QMP socket ${socketPath}: ${err.message}`);
    waiter?.();
  });
  sock.on('close', () => {
    closed = true;
    waiter?.();
  });

  /** The next reply; with `closeIsReply`, a closed connection counts as one. */
  const next = async (closeIsReply = false): Promise<Reply | undefined> => {
    for (;;) {
      if (failure) throw failure;
      const reply = replies.shift();
      if (reply) return reply;
      if (closed) {
        if (closeIsReply) return undefined;
        throw new Error('qemu closed the QMP connection');
      }
      await new Promise<void>((resolve) => (waiter = resolve));
    }
  };
  const send = (command: string, args?: Record<string, unknown>) => sock.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
  const session: QmpSession = {
    async execute(command, args) {
      send(command, args);
      const reply = await next();
      if (reply?.error) throw new Error(`QMP ${command}: ${reply.error.desc ?? reply.error.class ?? 'error'}`);
      return reply?.return;
    },
    async quit() {
      send('quit');
      await next(true);
    },
  };

  try {
    const greeting = await next();
    if (!greeting?.QMP) throw new Error(`${socketPath} did not greet like QMP`);
    await session.execute('qmp_capabilities');
    return await use(session);
  } finally {
    signal.removeEventListener('abort', onAbort);
    sock.destroy();
  }
}
