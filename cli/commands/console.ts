import { hostname } from 'node:os';
import type { Command } from 'commander';
import { ESCAPES, ESCAPE_START, scanEscape } from '../../controller/console/escape.js';
import { Event, decodeMessage } from '../../shared/protocol.js';
import type { ControllerClient } from '../client.js';
import { withController } from '../session.js';

interface ConsoleOptions {
  tail?: string;
  follow?: boolean;
  readOnly?: boolean;
  force?: boolean;
}

export function registerConsoleCommand(program: Command): void {
  program
    .command('console <node>')
    .description('attach to a node console (ConMan style: many readers, one writer; type &. to detach, &F to take the writer)')
    .option('--tail <n>', 'print the last N lines of the console log and exit; with --follow, then live output (tail -n N -f)')
    .option('--follow', 'print live output without taking the writer (read-only); Ctrl-C stops')
    .option('--read-only', 'attach without the writer: the same as --follow')
    .option('--force', 'take the writer from whoever holds it (they are told, and may take it back with &F)')
    .addHelpText(
      'after',
      [
        '',
        'Escapes, typed at the start of a line while attached:',
        ...ESCAPES.map((e) => `  &${e.key}  ${e.does}`),
        '  &&  send one &',
        '',
        'A writer displaced by --force keeps reading, read-only, and is told by whom; &F takes the writer back.',
        '',
        'Examples:',
        '  muster console n001                     (attach read-write; &. at the start of a line detaches)',
        '  muster console n001 --force             (take the writer from alice@ws1)',
        '  muster console n001 --tail 100',
        '  muster console n001 --tail 20 --follow  (the last 20 lines, then live, like tail -n 20 -f)',
        '  muster console n001 --read-only',
        '',
      ].join('\n'),
    )
    .action(async (node: string, o: ConsoleOptions, cmd: Command) => {
      const lines = o.tail === undefined ? null : Number(o.tail);
      if (lines !== null && (!Number.isInteger(lines) || lines < 1)) throw new Error(`--tail "${o.tail}" must be a whole number ≥ 1`);
      const readOnly = !!(o.follow || o.readOnly);
      if (readOnly && o.force) throw new Error('--force takes the writer: it cannot go with --follow or --read-only');
      await withController(cmd, async (c) => {
        if (lines !== null && !readOnly) {
          for (const l of (await c.request('console-tail', { node, lines })).lines) process.stdout.write(l + '\n');
          return;
        }
        await new ConsoleAttachment(c, node).run({ lines, readOnly, force: !!o.force });
      });
    });
}

/** One `muster console` session: the live output, and for a writer the keyboard, its escapes and its displacement. */
class ConsoleAttachment {
  private live = false;
  private writer = false;
  private hinted = false;
  /** Keystrokes go out one request after another, in order; detaching waits for them. */
  private sending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly c: ControllerClient,
    private readonly node: string,
  ) {}

  async run(o: { lines: number | null; readOnly: boolean; force: boolean }): Promise<void> {
    const { c, node } = this;
    const out = c.topics.consoleOut(node);
    // Subscribed before the tail is read, so nothing printed meanwhile is missed; what arrives
    // before the tail's answer is in the tail.
    await c.stream([out, c.topics.event('console')], (topic, payload) => {
      if (topic === out) {
        if (this.live) process.stdout.write(payload);
      } else this.onConsoleEvent(payload);
    });
    if (o.lines !== null) for (const l of (await c.request('console-tail', { node, lines: o.lines })).lines) process.stdout.write(l + '\n');
    this.live = true;
    if (o.readOnly) {
      process.stderr.write(`[following ${node} read-only; Ctrl-C stops]\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      return;
    }
    await this.attach(o.force);
    await this.keyboard();
    await this.sending;
    if (this.writer) await c.request('console-detach', { node }).catch(() => {});
    process.stderr.write(`\r\n[detached from ${node}]\n`);
  }

  private async attach(force: boolean): Promise<void> {
    const r = await this.c.request('console-attach', { node: this.node, force, host: hostname() });
    this.writer = true;
    this.hinted = false;
    process.stderr.write(`[attached to ${this.node} read-write${r.displaced ? `, displacing ${r.displaced}` : ''}; &. detaches, &? lists escapes]\r\n`);
  }

  /** Reads keys until `&.`, the end of piped input, or a signal. */
  private keyboard(): Promise<void> {
    const stdin = process.stdin;
    if (stdin.isTTY) stdin.setRawMode(true);
    let state = ESCAPE_START;
    return new Promise<void>((resolve) => {
      const done = () => {
        stdin.off('data', onData);
        if (stdin.isTTY) stdin.setRawMode(false);
        stdin.pause();
        resolve();
      };
      const onData = (typed: Buffer) => {
        // Handled in order: after `&F` the rest of the chunk is the new writer's.
        this.sending = this.sending.then(async () => {
          let rest: Buffer = typed;
          while (rest.length > 0) {
            const r = scanEscape(state, rest);
            state = r.state;
            if (r.forward.length) await this.type(r.forward);
            if (r.command === 'detach') return done();
            if (r.command === 'force') await this.attach(true).catch((err: Error) => process.stderr.write(`\r\n[${err.message}]\r\n`));
            if (r.command === 'help') process.stderr.write(`\r\n[escapes at the start of a line: ${ESCAPES.map((e) => `&${e.key} ${e.does}`).join(', ')}, && sends &]\r\n`);
            rest = r.rest;
          }
        });
      };
      stdin.on('data', onData);
      // Piped input: sent in full, then detach at its end.
      stdin.on('end', () => void this.sending.then(done));
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
  }

  private async type(keys: Buffer): Promise<void> {
    if (!this.writer) {
      if (!this.hinted) process.stderr.write(`\r\n[read-only: keys are not sent; &F takes the writer, &. detaches]\r\n`);
      this.hinted = true;
      return;
    }
    await this.c.request('console-write', { node: this.node, data: keys.toString('base64') }).catch((err: Error) => process.stderr.write(`\r\n[${err.message}]\r\n`));
  }

  /** A `console` event naming this client as displaced: say so at once and stay, read-only. */
  private onConsoleEvent(payload: Buffer): void {
    const e = decodeMessage(Event, payload);
    if (!e.ok || e.value.node !== this.node || e.value.details.displacedClient !== this.c.clientId) return;
    this.writer = false;
    this.hinted = false;
    process.stderr.write(`\r\n[displaced: ${String(e.value.details.writer)} took the writer of ${this.node}; reading on, read-only; &F takes it back, &. detaches]\r\n`);
  }
}
