/// <reference lib="dom" />
/**
 * The banner across the page while the controller is degraded (its store cannot be written):
 * why and since when, in the words of `muster doctor`'s `store` check, which the page asks for
 * when it connects or reconnects and on each `degraded` event. A successful write takes it away.
 */
import type { Link } from './link.js';

export class DegradedBanner {
  constructor(
    private readonly el: HTMLElement,
    private readonly link: Link,
  ) {}

  async refresh(): Promise<void> {
    try {
      const store = (await this.link.request('doctor', { checks: ['store'] })).checks[0];
      if (store?.status === 'fail') {
        this.el.textContent = `Controller ${store.detail}. It retries the write by itself; reads, power and consoles go on.`;
        this.el.hidden = false;
      } else {
        this.el.hidden = true;
        this.el.textContent = '';
      }
    } catch (err) {
      console.warn(`degraded state: ${(err as Error).message}`);
    }
  }
}
