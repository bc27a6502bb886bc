/// <reference lib="dom" />
/**
 * A node's console on the node page: its log tail, then live output (read-only, as a viewer sees
 * it). An operator may attach read-write (`console-attach`, the writer lock: one writer, many
 * readers; "take over" forces it, as `muster console --force`), then keys typed in the view go to
 * the node (`console-write`) until Detach or the page leaves the node. A refused write (another
 * writer took over) returns the view to read-only with the controller's words.
 */
import { ConsoleText } from './console-text.js';
import { keyBytes } from './console-keys.js';
import { h } from './dom.js';
import type { Link } from './link.js';
import { gate, roleBlock, type Identity } from './role-gate.js';

const CONSOLE_TAIL_LINES = 200;
/** Characters per `console-write`: at most 6 KiB of UTF-8, under the verb's limit once base64-coded. */
const WRITE_CHUNK = 2048;

export class ConsoleView {
  readonly root: HTMLElement;
  private readonly pre = h('pre', { class: 'console', id: 'node-console', tabindex: '0' });
  private readonly mode = h('span', { id: 'console-mode', class: 'muted' }, 'read-only');
  private readonly note = h('span', { id: 'console-note', class: 'note', role: 'status' });
  private readonly attachButton = h('button', { type: 'button', id: 'console-attach' }, 'attach read-write');
  private readonly forceButton = h('button', { type: 'button', id: 'console-force' }, 'take over');
  private readonly detachButton = h('button', { type: 'button', id: 'console-detach', hidden: true }, 'detach');
  private readonly text = new ConsoleText();
  private readonly decoder = new TextDecoder();
  private readonly stopLive: () => void;
  private frame = 0;
  private writer = false;
  private blocked: string | null = null;
  private pending = '';
  private sending = false;
  private closed = false;

  constructor(
    private readonly link: Link,
    private readonly node: string,
    identity: Identity,
  ) {
    this.root = h('div', {}, h('div', { class: 'console-bar' }, this.mode, this.attachButton, this.forceButton, this.detachButton, this.note), this.pre);
    this.attachButton.addEventListener('click', () => void this.attach(false));
    this.forceButton.addEventListener('click', () => void this.attach(true));
    this.detachButton.addEventListener('click', () => void this.detach());
    this.pre.addEventListener('keydown', (e) => this.key(e));
    this.pre.addEventListener('paste', (e) => {
      if (!this.writer) return;
      e.preventDefault();
      this.send(e.clipboardData?.getData('text') ?? '');
    });
    this.stopLive = this.start();
    this.setIdentity(identity);
  }

  /** A new login is a new connection: the old one's writer role went with it. */
  setIdentity(id: Identity): void {
    this.blocked = roleBlock(id, 'operator', 'writing to a console');
    if (this.writer) this.readOnly('the login changed: attach again to write');
    this.render();
  }

  close(): void {
    this.closed = true;
    this.stopLive();
    cancelAnimationFrame(this.frame);
    if (this.writer) void this.link.request('console-detach', { node: this.node }).catch(() => {});
  }

  /** Live output first (buffered), then the log tail: no line falls between the two. */
  private start(): () => void {
    const live: string[] = [];
    let tailed = false;
    const stop = this.link.listen(this.link.topic('consoles', this.node, 'out'), (_t, payload) => {
      const text = this.decoder.decode(payload, { stream: true });
      if (!tailed) live.push(text);
      else this.append(text);
    });
    this.link
      .request('console-tail', { node: this.node, lines: CONSOLE_TAIL_LINES })
      .then(({ lines }) => {
        if (this.closed) return;
        this.text.pushLines(lines);
        tailed = true;
        this.append(live.join(''));
      })
      .catch((err: unknown) => {
        if (this.closed) return;
        tailed = true;
        this.pre.replaceChildren(h('p', { class: 'error' }, (err as Error).message));
      });
    return stop;
  }

  private append(text: string): void {
    this.text.push(text);
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(() => {
      const pre = this.pre;
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = this.text.lines().join('\n');
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    });
  }

  private async attach(force: boolean): Promise<void> {
    this.show('', force ? 'taking over…' : 'attaching…');
    try {
      // A browser cannot name its host: others see the writer as `user@dashboard`.
      const r = await this.link.request('console-attach', { node: this.node, force, host: 'dashboard' });
      if (this.closed) return;
      this.writer = true;
      this.show('ok', r.displaced ? `attached read-write, displacing ${r.displaced}` : 'attached read-write: type in the console');
      this.render();
      this.pre.focus();
    } catch (err) {
      this.show('error', (err as Error).message);
    }
  }

  private async detach(): Promise<void> {
    this.writer = false;
    this.render();
    try {
      await this.link.request('console-detach', { node: this.node });
      this.show('', 'detached: read-only');
    } catch (err) {
      this.show('error', (err as Error).message);
    }
  }

  private readOnly(why: string): void {
    this.writer = false;
    this.pending = '';
    this.show('error', why);
    this.render();
  }

  private key(e: KeyboardEvent): void {
    if (!this.writer) return;
    const bytes = keyBytes(e);
    if (bytes === null) return;
    e.preventDefault();
    e.stopPropagation(); // Esc goes to the node, not to the page (which would close the node page)
    this.send(bytes);
  }

  /** Keys in order: one write in flight at a time, the keys typed meanwhile go in the next. */
  private send(data: string): void {
    this.pending += data;
    if (!this.sending) void this.flush();
  }

  private async flush(): Promise<void> {
    this.sending = true;
    try {
      while (this.pending && this.writer) {
        const chunk = this.pending.slice(0, WRITE_CHUNK);
        this.pending = this.pending.slice(chunk.length);
        await this.link.request('console-write', { node: this.node, data: base64(chunk) });
      }
    } catch (err) {
      if (!this.closed) this.readOnly((err as Error).message);
    } finally {
      this.sending = false;
    }
  }

  private render(): void {
    this.mode.textContent = this.writer ? 'read-write' : 'read-only';
    this.mode.className = this.writer ? 'writer' : 'muted';
    this.attachButton.hidden = this.forceButton.hidden = this.writer;
    this.detachButton.hidden = !this.writer;
    gate(this.attachButton, this.blocked);
    gate(this.forceButton, this.blocked);
    this.forceButton.title ||= 'become the writer, displacing the one attached (muster console --force)';
  }

  private show(outcome: '' | 'ok' | 'error', text: string): void {
    this.note.className = `note ${outcome}`;
    this.note.textContent = text;
  }
}

function base64(text: string): string {
  let binary = '';
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}
