import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs (JSON lines) for machines; a readable one-line form when stderr is a terminal.
 * Logs go to stderr so stdout stays free for command output.
 */
export function createLogger(opts: { level?: string; pretty?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.MUSTER_LOG_LEVEL ?? 'info';
  const pretty = opts.pretty ?? process.stderr.isTTY;
  if (pretty) {
    return pino({ level }, pino.transport({ target: 'pino-pretty', options: { destination: 2, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } }));
  }
  return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: false }));
}
