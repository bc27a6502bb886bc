import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../controller/log.js';

/** A logger whose JSON lines are kept in `lines`, for a test to look at what the controller reported. */
export function logSink(level = 'warn'): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(line, _encoding, done) {
      lines.push(JSON.parse(String(line)) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level, base: undefined }, sink), lines };
}
