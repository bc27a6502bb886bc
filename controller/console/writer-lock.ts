/**
 * ConMan's rule for one console: many readers, one writer. Pure; the manager owns one per node.
 */
import { MusterError } from '../../shared/errors.js';

export class WriterLock {
  private holder: string | null = null;

  constructor(private readonly label: string) {}

  get writer(): string | null {
    return this.holder;
  }

  /**
   * Makes `clientId` the writer. Claiming again is harmless. Another client's claim fails unless
   * `force` (ConMan's `-f`), which takes over and returns the one displaced so it can be told.
   */
  claim(clientId: string, opts: { force?: boolean } = {}): { displaced: string | null } {
    if (!clientId) throw new Error(`${label(this.label)}a writer needs a client id`);
    if (this.holder === null || this.holder === clientId) {
      this.holder = clientId;
      return { displaced: null };
    }
    if (!opts.force) throw new MusterError(`${label(this.label)}console is attached read-write by ${this.holder}; attach read-only or force`, 'console-busy');
    const displaced = this.holder;
    this.holder = clientId;
    return { displaced };
  }

  /** Gives up the writer role; false if `clientId` did not hold it. */
  release(clientId: string): boolean {
    if (this.holder !== clientId) return false;
    this.holder = null;
    return true;
  }

  /** Throws unless `clientId` may write now. */
  check(clientId: string): void {
    if (this.holder !== clientId) {
      throw new MusterError(`${label(this.label)}${clientId} is not the console writer (${this.holder ? `${this.holder} is` : 'nobody is attached read-write'})`, 'console-not-writer');
    }
  }
}

function label(text: string): string {
  return text ? `${text}: ` : '';
}
