/// <reference lib="dom" />
/** The page's one confirmation dialog (`#confirm` in index.html): what is about to happen, to how many nodes. */
import { byId } from './dom.js';

/** Resolves true when the person chose `ok`; Cancel, Esc or closing resolve false. Cancel has the focus. */
export function confirmAction(question: string, detail: string, ok: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  byId('confirm-text').textContent = question;
  byId('confirm-detail').textContent = detail;
  byId('confirm-ok').textContent = ok;
  dialog.returnValue = '';
  dialog.showModal();
  byId('confirm-cancel').focus();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}
