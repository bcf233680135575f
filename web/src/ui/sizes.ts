/** The output size control: the long side in pixels, from a fixed list plus any `?size=N`. */
import type { ContentInfo } from '../protocol.js';
import { byId, el } from './dom.js';

const SIZES = [256, 384, 512, 768];

/** The output's size for a content image (the pipeline's fitSize rule: long side = size, aspect kept). */
export function outputSize(info: ContentInfo, size: number): { width: number; height: number } {
  const scale = size / Math.max(info.width, info.height);
  return { width: Math.max(1, Math.round(info.width * scale)), height: Math.max(1, Math.round(info.height * scale)) };
}

export class SizePicker {
  /** The user picked a size (so a backend change does not override it). */
  chosen: boolean;
  #content: ContentInfo | null = null;

  constructor(
    public size: number | null,
    private readonly onChange: () => void,
  ) {
    this.chosen = size !== null;
    const sizes = [...SIZES];
    if (size !== null && !sizes.includes(size)) sizes.push(size);
    sizes.sort((a, b) => a - b);
    byId('size-options').replaceChildren(
      ...sizes.map((s) => {
        const input = el('input', { type: 'radio', name: 'size', value: s, id: `size-${s}` });
        input.addEventListener('change', () => {
          this.chosen = true;
          this.set(s);
        });
        return el('label', { className: 'segment', for: `size-${s}` }, input, el('span', { text: String(s) }));
      }),
    );
    if (size !== null) this.#check(size);
    this.#hint();
  }

  set(size: number): void {
    this.size = size;
    this.#check(size);
    this.#hint();
    this.onChange();
  }

  #check(size: number): void {
    const input = document.getElementById(`size-${size}`) as HTMLInputElement | null;
    if (input) input.checked = true;
  }

  /** The content image the hint describes the output of. */
  setContent(info: ContentInfo | null): void {
    this.#content = info;
    this.#hint();
  }

  #hint(): void {
    const hint = byId('size-hint');
    if (this.#content && this.size) {
      const out = outputSize(this.#content, this.size);
      hint.textContent = `Output ${out.width} × ${out.height} px (long side ${this.size}).`;
    } else hint.textContent = 'Long side in pixels; the aspect ratio is kept.';
  }
}
