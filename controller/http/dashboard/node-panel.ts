/// <reference lib="dom" />
/**
 * The node page: what muster will do next and why, identifiers, mappings (the power target comes
 * redacted from `show`), the live state, open hardware-log issues, history (transitions and
 * actions), and the console (its log tail, then the live topic).
 */
import type { NodeNext, NodeState } from '../../../shared/protocol.js';
import { ConsoleText } from './console-text.js';
import { h } from './dom.js';
import { ago, bytes, clock } from './format.js';
import { RequestError, type Link } from './link.js';
import { classify } from './state-classes.js';

const CONSOLE_TAIL_LINES = 200;

export class NodePanel {
  private node: string | null = null;
  private stopConsole: (() => void) | null = null;
  private consoleText = new ConsoleText();
  private consolePre: HTMLPreElement | null = null;
  private consoleFrame = 0;
  private stateBox: HTMLElement | null = null;
  private nextBox: HTMLElement | null = null;
  private historyBox: HTMLElement | null = null;
  private hwlogBox: HTMLElement | null = null;
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly root: HTMLElement,
    private readonly link: Link,
    private readonly stateOf: (node: string) => NodeState | undefined,
    private readonly onClose: () => void,
  ) {}

  get current(): string | null {
    return this.node;
  }

  open(node: string): void {
    if (node === this.node) return;
    this.close(false);
    this.node = node;
    this.consoleText = new ConsoleText();
    this.stateBox = h('div', { class: 'kv', id: 'node-state' });
    this.nextBox = h('p', { id: 'node-next' }, h('span', { class: 'muted' }, 'loading…'));
    this.historyBox = h('div', { id: 'node-history' }, h('p', { class: 'muted' }, 'loading…'));
    this.hwlogBox = h('div', { id: 'node-hwlog' }, h('p', { class: 'muted' }, 'loading…'));
    this.consolePre = h('pre', { class: 'console', id: 'node-console' });
    const ids = h('div', { id: 'node-ids', class: 'kv' }, h('p', { class: 'muted' }, 'loading…'));
    const closeBtn = h('button', { class: 'close', title: 'close (Esc)', 'aria-label': 'close' }, '×');
    closeBtn.addEventListener('click', () => this.close());
    this.root.replaceChildren(
      h('header', { class: 'panel-head' }, h('h2', { id: 'node-title' }, node), closeBtn),
      h('section', {}, h('h3', {}, 'Next'), this.nextBox),
      h('section', {}, h('h3', {}, 'State'), this.stateBox),
      h('section', {}, h('h3', {}, 'Identifiers and mappings'), ids),
      h('section', {}, h('h3', {}, 'Open hardware-log issues'), this.hwlogBox),
      h('section', {}, h('h3', {}, 'Console'), this.consolePre),
      h('section', {}, h('h3', {}, 'History'), this.historyBox),
    );
    this.root.hidden = false;
    this.renderState();
    void this.loadShow(node, ids);
    void this.loadHwlog(node);
    void this.loadHistory(node);
    this.startConsole(node);
  }

  close(notify = true): void {
    this.stopConsole?.();
    this.stopConsole = null;
    cancelAnimationFrame(this.consoleFrame);
    this.node = null;
    this.root.hidden = true;
    this.root.replaceChildren();
    if (notify) this.onClose();
  }

  /** The node's retained state changed. */
  stateChanged(node: string): void {
    if (node === this.node) this.renderState();
  }

  /** An event about this node arrived: the next line, history and hwlog follow it live. */
  event(kind: string, node: string | null): void {
    if (node !== this.node || !node) return;
    if (kind === 'transition' || kind === 'action') void this.loadHistory(node);
    if (kind === 'transition' || kind === 'action' || kind === 'policy') void this.loadNext(node);
    if (kind === 'hwlog') void this.loadHwlog(node);
  }

  /** What muster will do about the node next (the `show` verb's `next`). */
  private async loadNext(node: string): Promise<void> {
    try {
      const n = await this.link.request('show', { node });
      if (node === this.node) this.renderNext(n.next);
    } catch (err) {
      if (node === this.node) this.nextBox?.replaceChildren(problem(err));
    }
  }

  private renderNext(next: NodeNext | null): void {
    this.nextBox?.replaceChildren(next ? h('span', { class: `next next-${next.state}` }, next.summary) : h('span', { class: 'muted' }, 'no state for this node'));
  }

  private renderState(): void {
    const s = this.node ? this.stateOf(this.node) : undefined;
    if (!this.stateBox) return;
    if (!s) return void this.stateBox.replaceChildren(h('p', { class: 'muted' }, 'no state published for this node'));
    const now = Date.now();
    const c = classify(s);
    const since = (at: number) => h('span', { class: 'muted', title: clock(at) }, ` since ${ago(at, now)}`);
    this.stateBox.replaceChildren(
      ...kv([
        ['class', h('span', {}, h('span', { class: 'swatch', style: `background:${c.colour}` }), ` ${c.label}`)],
        ['phase', h('span', {}, s.phase, since(s.phaseSince))],
        ['liveness', h('span', {}, s.liveness, since(s.livenessSince))],
        ['admin', h('span', {}, s.admin, s.reason ? ` — ${s.reason}` : '', s.adminBy ? ` (${s.adminBy})` : '', since(s.adminSince))],
        ['power', h('span', {}, s.power, since(s.powerSince))],
        ['faults', String(s.faults)],
        ['agent', s.agentId ?? '—'],
      ]),
    );
  }

  private async loadShow(node: string, box: HTMLElement): Promise<void> {
    try {
      const n = await this.link.request('show', { node });
      if (node !== this.node) return;
      this.renderNext(n.next);
      const fp = n.fingerprint;
      box.replaceChildren(
        ...kv([
          ['agent id', n.agentId ?? 'not bound'],
          ['MACs', n.ids.macs.join(', ') || '—'],
          ['serial', n.ids.serial ?? '—'],
          ['UUID', n.ids.uuid ?? '—'],
          ['IB GUIDs', n.ids.ibGuids.join(', ') || '—'],
          ['hardware', fp ? [fp.dmi?.vendor, fp.dmi?.product, fp.cpu ? `${fp.cpu.count} × ${fp.cpu.model}` : null, fp.memoryBytes ? bytes(fp.memoryBytes) : null].filter(Boolean).join(' · ') : '—'],
          ['power', h('code', {}, n.power ?? '—')],
          ['console', h('code', {}, n.console ?? '—')],
          ['image', n.image ?? '—'],
          ['groups', n.groups.join(', ') || '—'],
          ['tags', n.tags.join(', ') || '—'],
          ...Object.entries(n.attrs).map(([k, v]): [string, string] => [k, v]),
        ]),
      );
    } catch (err) {
      if (node === this.node) box.replaceChildren(problem(err));
    }
  }

  private async loadHwlog(node: string): Promise<void> {
    const box = this.hwlogBox!;
    try {
      const issues = await this.link.request('hwlog-list', { range: node });
      if (node !== this.node) return;
      box.replaceChildren(
        issues.length === 0
          ? h('p', { class: 'muted' }, 'none')
          : h('ul', { class: 'issues' }, ...issues.map((i) => h('li', {}, h('strong', {}, `#${i.id} `), i.text, h('span', { class: 'muted' }, ` — ${i.openedBy}, ${ago(i.openedAt, Date.now())}`)))),
      );
    } catch (err) {
      if (node !== this.node) return;
      // A controller without the hardware log answers "unknown request": say so, keep the page working.
      box.replaceChildren(err instanceof RequestError && err.unknownVerb ? h('p', { class: 'muted' }, 'this controller has no hardware log') : problem(err));
    }
  }

  private async loadHistory(node: string): Promise<void> {
    const box = this.historyBox!;
    try {
      const { transitions } = await this.link.request('history', { node, limit: 50 });
      if (node !== this.node) return;
      box.replaceChildren(
        transitions.length === 0
          ? h('p', { class: 'muted' }, 'no transitions yet')
          : h(
              'table',
              { class: 'history' },
              h('tbody', {}, ...transitions.reverse().map((t) => h('tr', {}, h('td', { class: 'muted', title: clock(t.at) }, clock(t.at).slice(11)), h('td', {}, t.axis), h('td', {}, t.from === null ? (t.to ?? '') : `${t.from} → ${t.to}`), h('td', { class: 'muted' }, t.by === undefined ? t.cause : `by ${t.by}: ${t.cause}`)))),
            ),
      );
    } catch (err) {
      if (node === this.node) box.replaceChildren(problem(err));
    }
  }

  /** Live output first (buffered), then the log tail: no line falls between the two. */
  private startConsole(node: string): void {
    const live: string[] = [];
    let tailed = false;
    this.stopConsole = this.link.listen(this.link.topic('consoles', node, 'out'), (_t, payload) => {
      const text = this.decoder.decode(payload, { stream: true });
      if (!tailed) live.push(text);
      else this.appendConsole(text);
    });
    this.link
      .request('console-tail', { node, lines: CONSOLE_TAIL_LINES })
      .then(({ lines }) => {
        if (node !== this.node) return;
        this.consoleText.pushLines(lines);
        tailed = true;
        this.appendConsole(live.join(''));
      })
      .catch((err: unknown) => {
        if (node !== this.node) return;
        tailed = true;
        this.consolePre!.replaceChildren(problem(err));
      });
  }

  private appendConsole(text: string): void {
    this.consoleText.push(text);
    cancelAnimationFrame(this.consoleFrame);
    this.consoleFrame = requestAnimationFrame(() => {
      const pre = this.consolePre;
      if (!pre) return;
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = this.consoleText.lines().join('\n');
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    });
  }
}

function kv(rows: Array<[string, string | Node]>): HTMLElement[] {
  return rows.flatMap(([k, v]) => [h('span', { class: 'k' }, k), h('span', { class: 'v' }, v)]);
}

function problem(err: unknown): HTMLElement {
  return h('p', { class: 'error' }, (err as Error).message);
}
