/**
 * The style picker: one card per named style (name, artist, licence, download state), and a
 * card for "your own style image", disabled until the pipeline runs arbitrary style.
 */
import type { NamedStyle } from '../../../models/styles.js';
import { el } from './dom.js';

export const IMAGE_STYLE = 'image';

export interface GalleryOptions {
  readonly styles: readonly NamedStyle[];
  readonly onSelect: (style: string) => void;
  /** Called with a style image the user picked (only once the image option is enabled). */
  readonly onStyleImage: (file: File) => void;
}

function splitTitle(title: string): { name: string; by: string | null } {
  const m = title.match(/^(.*?)\s*\((.*)\)$/);
  return m ? { name: m[1], by: m[2] } : { name: title, by: null };
}

export class Gallery {
  readonly #cards = new Map<string, HTMLButtonElement>();
  readonly #status = new Map<string, HTMLElement>();
  readonly #imageCard: HTMLButtonElement;
  readonly #imageInput: HTMLInputElement;
  readonly #imageNote: HTMLElement;
  #selected: string | null = null;
  #imageEnabled = false;
  #hasImage = false;

  constructor(root: HTMLElement, options: GalleryOptions) {
    root.setAttribute('role', 'radiogroup');
    root.setAttribute('aria-label', 'Style');
    for (const style of options.styles) {
      const { name, by } = splitTitle(style.title);
      const status = el('span', { className: 'card-status', text: '' });
      const card = el(
        'button',
        {
          type: 'button',
          className: 'style-card',
          role: 'radio',
          'aria-checked': 'false',
          'data-style': style.name,
          title: `${style.title}. Network: ${style.source}. Licence: ${style.license}.`,
        },
        el('span', { className: `swatch swatch-${style.name}`, 'aria-hidden': 'true' }),
        el(
          'span',
          { className: 'card-text' },
          el('span', { className: 'card-title', text: name }),
          el('span', { className: 'card-by', text: by ?? 'Fast style network' }),
          el('span', { className: 'card-meta' }, el('span', { className: 'chip', text: style.license }), status),
        ),
      );
      card.addEventListener('click', () => {
        this.select(style.name);
        options.onSelect(style.name);
      });
      this.#cards.set(style.name, card);
      this.#status.set(style.name, status);
      root.append(card);
    }

    this.#imageInput = el('input', {
      type: 'file',
      id: 'style-input',
      accept: 'image/png,image/jpeg,image/webp',
      hidden: true,
      disabled: true,
    });
    this.#imageNote = el('span', { className: 'card-by', text: 'Any painting or photo' });
    const imageStatus = el('span', { className: 'card-status', text: '' });
    this.#status.set(IMAGE_STYLE, imageStatus);
    this.#imageCard = el(
      'button',
      {
        type: 'button',
        className: 'style-card style-card-upload',
        role: 'radio',
        'aria-checked': 'false',
        'aria-disabled': 'true',
        'data-style': IMAGE_STYLE,
        title: 'Arbitrary style from any image (Magenta, Apache-2.0): coming soon',
      },
      el('span', { className: 'swatch swatch-upload', 'aria-hidden': 'true' }, el('span', { text: '+' })),
      el(
        'span',
        { className: 'card-text' },
        el('span', { className: 'card-title', text: 'Your style image' }),
        this.#imageNote,
        el(
          'span',
          { className: 'card-meta' },
          el('span', { className: 'chip chip-soon', text: 'Coming soon' }),
          imageStatus,
        ),
      ),
      this.#imageInput,
    );
    // With a style image chosen, a click selects it; a click on the selected card picks another image.
    this.#imageCard.addEventListener('click', (event) => {
      if (event.target === this.#imageInput || !this.#imageEnabled) return;
      if (this.#hasImage && this.#selected !== IMAGE_STYLE) {
        this.select(IMAGE_STYLE);
        options.onSelect(IMAGE_STYLE);
      } else this.#imageInput.click();
    });
    this.#imageInput.addEventListener('change', () => {
      const file = this.#imageInput.files?.[0];
      this.#imageInput.value = '';
      if (file) options.onStyleImage(file);
    });
    root.append(this.#imageCard);
  }

  get selected(): string | null {
    return this.#selected;
  }

  select(style: string): void {
    this.#selected = style;
    for (const [name, card] of [...this.#cards, [IMAGE_STYLE, this.#imageCard] as const]) {
      card.setAttribute('aria-checked', String(name === style));
    }
  }

  /** Light up the style-image card (the pipeline supports `{ kind: 'image' }`). */
  enableImageStyle(): void {
    this.#imageEnabled = true;
    this.#imageInput.disabled = false;
    this.#imageCard.removeAttribute('aria-disabled');
    this.#imageCard.title = 'Use any image as the style (Magenta arbitrary style, Apache-2.0)';
    this.#imageCard.querySelector('.chip-soon')?.replaceWith(el('span', { className: 'chip', text: 'Apache-2.0' }));
  }

  /** Show the chosen style image on its card. */
  setStyleImage(url: string, name: string): void {
    const swatch = this.#imageCard.querySelector<HTMLElement>('.swatch');
    if (swatch) {
      swatch.style.backgroundImage = `url("${url}")`;
      swatch.textContent = '';
    }
    this.#imageNote.textContent = name;
    this.#hasImage = true;
    this.#imageCard.title = `Style image: ${name}. Click again to choose another.`;
  }

  /** Download state under a card: "6.7 MB", "Cached", "Loading 40%", "Unavailable". */
  setStatus(style: string, text: string, tone: 'muted' | 'ok' | 'busy' | 'error' = 'muted'): void {
    const node = this.#status.get(style);
    if (!node) return;
    node.textContent = text;
    node.dataset.tone = tone;
  }

  /** After a run: the card shows the user's own photo in that style. */
  setPreview(style: string, url: string): void {
    const swatch = this.#cards.get(style)?.querySelector<HTMLElement>('.swatch');
    if (swatch) {
      swatch.style.backgroundImage = `url("${url}")`;
      swatch.classList.add('swatch-preview');
    }
  }
}
