/**
 * ConMan's rule for one console: many readers, one writer. Pure; the manager owns one per node.
 */
import { MusterError } from '../../shared/errors.js';

/** The one writer: its client id (where its requests come from) and who it is, `alice@ws1`. */
export interface ConsoleWriter {
  clientId: string;
  who: string;
}

export class WriterLock {
  private holder: ConsoleWriter | null = null;

  constructor(private readonly label: string) {}

  get writer(): ConsoleWriter | null {
    return this.holder;
  }

  /**
   * Makes `clientId` the writer (`who` names it to others; the client id when not given).
   * Claiming again is harmless. Another client's claim fails unless `force` (ConMan's `-f`),
   * which takes over and returns the one displaced so it can be told.
   */
  claim(clientId: string, opts: { who?: string; force?: boolean } = {}): { displaced: ConsoleWriter | null } {
    if (!clientId) throw new Error(`${label(this.label)}a writer needs a client id`);
    const writer = { clientId, who: opts.who ?? clientId };
    if (this.holder === null || this.holder.clientId === clientId) {
      this.holder = writer;
      return { displaced: null };
    }
    if (!opts.force) throw new MusterError(`${label(this.label)}console is attached read-write by ${this.holder.who}, use --force or --read-only`, 'console-busy');
    const displaced = this.holder;
    this.holder = writer;
    return { displaced };
  }

  /** Gives up the writer role; false if `clientId` did not hold it. */
  release(clientId: string): boolean {
    if (this.holder?.clientId !== clientId) return false;
    this.holder = null;
    return true;
  }

  /** Throws unless `clientId` may write now. */
  check(clientId: string): void {
    if (this.holder?.clientId !== clientId) {
      throw new MusterError(`${label(this.label)}not the console writer (${this.holder ? `${this.holder.who} is` : 'nobody is attached read-write'})`, 'console-not-writer');
    }
  }
}

function label(text: string): string {
  return text ? `${text}: ` : '';
}
