/** Where a content photo comes from: the file picker, a drop anywhere on the page, a paste, or a sample. */
import type { Alerts } from './alerts.js';
import { byId, el } from './dom.js';

export type OnContentFile = (file: Blob, name: string) => void;

const SAMPLES = [
  { file: 'chelsea.png', label: 'Cat', credit: 'Chelsea the cat, Stéfan van der Walt, CC0' },
  { file: 'coffee.png', label: 'Coffee', credit: 'Coffee cup, Rachel Michetti, CC0' },
  { file: 'astronaut.png', label: 'Astronaut', credit: 'Eileen Collins, NASA, public domain' },
  { file: 'rocket.jpg', label: 'Rocket', credit: 'Falcon 9 launch, SpaceX, public domain' },
];

export function wireContentInput(onFile: OnContentFile): void {
  const input = byId<HTMLInputElement>('content-input');
  const dropzone = byId('dropzone');
  byId('browse').addEventListener('click', () => input.click());
  dropzone.addEventListener('click', (event) => {
    if (event.target === dropzone) input.click();
  });
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    input.value = '';
    if (file) onFile(file, file.name);
  });
  // The whole window takes drops; the drop zone lights up while a file is over the page.
  let depth = 0;
  const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') === true;
  window.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    depth++;
    document.body.classList.add('dragging');
  });
  window.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) document.body.classList.remove('dragging');
  });
  window.addEventListener('dragover', (e) => {
    if (hasFiles(e)) e.preventDefault();
  });
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    document.body.classList.remove('dragging');
    const file = e.dataTransfer?.files[0];
    if (file) onFile(file, file.name);
  });
  window.addEventListener('paste', (e) => {
    const file = e.clipboardData?.files[0];
    if (file) onFile(file, file.name || 'pasted image');
  });
}

/** Sample photo buttons, only where the server has them (the demo servers do; a plain static host may not). */
export async function offerSamples(onFile: (file: Blob, name: string) => Promise<void>, alerts: Alerts): Promise<void> {
  const row = byId('samples');
  const probe = await fetch(`samples/${SAMPLES[0].file}`, { method: 'HEAD' }).catch(() => null);
  if (!probe?.ok) return;
  for (const sample of SAMPLES) {
    const button = el('button', {
      type: 'button',
      className: 'sample',
      text: sample.label,
      title: sample.credit,
      'data-sample': sample.file,
    });
    button.addEventListener('click', async () => {
      const response = await fetch(`samples/${sample.file}`).catch(() => null);
      if (!response?.ok) {
        alerts.show('error', "Couldn't load the sample", `samples/${sample.file}: HTTP ${response?.status ?? '—'}`);
        return;
      }
      await onFile(await response.blob(), sample.file);
    });
    row.append(button);
  }
  row.hidden = false;
}
