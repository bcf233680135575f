/** Messages in the page (errors, warnings, notes): nothing the user needs is only in the console. */
import { el } from './dom.js';

export type AlertTone = 'error' | 'warning' | 'info';

const ICONS: Readonly<Record<AlertTone, string>> = { error: '!', warning: '!', info: 'i' };

export class Alerts {
  readonly #root: HTMLElement;
  readonly #byKey = new Map<string, HTMLElement>();

  constructor(root: HTMLElement) {
    this.#root = root;
  }

  /** Show a message; a second one with the same key replaces the first. */
  show(tone: AlertTone, title: string, message: string, key = `${tone}:${title}`): void {
    this.dismiss(key);
    const close = el('button', { className: 'alert-close', type: 'button', 'aria-label': 'Dismiss', text: '×' });
    const node = el(
      'div',
      { className: `alert alert-${tone}`, role: tone === 'error' ? 'alert' : 'status', 'data-alert': key },
      el('span', { className: 'alert-icon', 'aria-hidden': 'true', text: ICONS[tone] }),
      el('div', { className: 'alert-body' }, el('strong', { text: title }), el('p', { text: message })),
      close,
    );
    close.addEventListener('click', () => this.dismiss(key));
    this.#byKey.set(key, node);
    this.#root.prepend(node);
  }

  dismiss(key: string): void {
    this.#byKey.get(key)?.remove();
    this.#byKey.delete(key);
  }

  /** Drop every error (a new attempt starts clean); warnings and notes stay. */
  clearErrors(): void {
    for (const key of [...this.#byKey.keys()]) if (key.startsWith('error:')) this.dismiss(key);
  }
}
