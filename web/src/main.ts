/**
 * The demo page: wires the controls to the style worker and shows what it reports. All the
 * work (decoding, models, the network) happens in the worker; this thread only draws.
 *
 * URL parameters, for links and tests: `?backend=auto|webgpu|wasm|js`, `?size=N` (adds an
 * output size), `?threads=N` (wasm threads), `?style=NAME`.
 */
import './styles.css';
import * as Comlink from 'comlink';
import {
  ARBITRARY_STYLE_MODELS,
  DEFAULT_ARBITRARY_WEIGHTS,
  DEFAULT_STYLE,
  findStyle,
  NAMED_STYLES,
} from '../../models/styles.js';
import { type DemoErrorKind, errorKind, errorMessage } from './errors.js';
import { cacheStorage, MODEL_CACHE, modelFileUrl } from './models.js';
import {
  BACKEND_PREFERENCES,
  type BackendPreference,
  type ContentInfo,
  type InitReport,
  type TransferReply,
  type WorkerEvent,
} from './protocol.js';
import { Alerts } from './ui/alerts.js';
import { byId, el } from './ui/dom.js';
import { formatBytes } from './ui/format.js';
import { Gallery, IMAGE_STYLE } from './ui/gallery.js';
import { ProgressView } from './ui/progress.js';
import { renderResult } from './ui/results.js';
import { WorkerClient } from './worker-client.js';

const SIZES = [256, 384, 512, 768];
const BACKEND_LABELS: Readonly<Record<BackendPreference, string>> = {
  auto: 'Automatic (fastest available)',
  webgpu: 'WebGPU',
  wasm: 'WebAssembly SIMD',
  js: 'JavaScript',
};
const SAMPLES = [
  { file: 'chelsea.png', label: 'Cat', credit: 'Chelsea the cat, Stéfan van der Walt, CC0' },
  { file: 'coffee.png', label: 'Coffee', credit: 'Coffee cup, Rachel Michetti, CC0' },
  { file: 'astronaut.png', label: 'Astronaut', credit: 'Eileen Collins, NASA, public domain' },
  { file: 'rocket.jpg', label: 'Rocket', credit: 'Falcon 9 launch, SpaceX, public domain' },
];
const ERROR_TITLES: Readonly<Record<DemoErrorKind | 'other', string>> = {
  'unsupported-file': "Can't open that file",
  'too-large': 'That image is too large',
  'model-load': 'The style model failed to load',
  backend: 'No backend could start',
  'no-content': 'Nothing to stylize yet',
  other: 'Something went wrong',
};

class CancelledError extends Error {}

const params = new URLSearchParams(location.search);
const modelBase = new URL('models/', document.baseURI).href;

function parsePreference(value: string | null): BackendPreference {
  return BACKEND_PREFERENCES.includes(value as BackendPreference) ? (value as BackendPreference) : 'auto';
}

function parseSize(value: string | null): number | null {
  const n = Number(value);
  return value !== null && Number.isInteger(n) && n > 0 ? n : null;
}

function parseThreads(value: string | null): number | undefined {
  const n = Number(value);
  return value !== null && Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The output's size for a content image (the pipeline's fitSize rule: long side = size, aspect kept). */
function outputSize(info: ContentInfo, size: number): { width: number; height: number } {
  const scale = size / Math.max(info.width, info.height);
  return { width: Math.max(1, Math.round(info.width * scale)), height: Math.max(1, Math.round(info.height * scale)) };
}

function styleTitle(name: string): string {
  return findStyle(name)?.title.replace(/\s*\(.*\)$/, '') ?? name;
}

class App {
  readonly alerts = new Alerts(byId('alerts'));
  readonly progress = new ProgressView(byId('progress'));
  readonly client = new WorkerClient();
  readonly gallery: Gallery;
  readonly canvas = byId<HTMLCanvasElement>('output-canvas');
  readonly runButton = byId<HTMLButtonElement>('run');
  readonly cancelButton = byId<HTMLButtonElement>('cancel');
  readonly downloadButton = byId<HTMLButtonElement>('download');
  readonly backendSelect = byId<HTMLSelectElement>('backend-select');
  readonly compare = byId('compare');

  preference = parsePreference(params.get('backend'));
  threads = parseThreads(params.get('threads'));
  size: number | null = parseSize(params.get('size'));
  /** The user picked a size (so a backend change does not override it). */
  sizeChosen = this.size !== null;
  report: InitReport | null = null;
  ready: Promise<InitReport | null>;
  content: { file: Blob; name: string; info: ContentInfo; url: string } | null = null;
  styleImage: { file: Blob; name: string } | null = null;
  running = false;
  cancel: (() => void) | null = null;
  lastResult: { style: string; name: string; kind: 'named' | 'image' } | null = null;

  constructor() {
    this.gallery = new Gallery(byId('style-gallery'), {
      styles: NAMED_STYLES,
      onSelect: (style) => this.selectStyle(style),
      onStyleImage: (file) => void this.loadStyleImage(file),
    });
    const initial = findStyle(params.get('style') ?? '')?.name ?? DEFAULT_STYLE;
    this.gallery.select(initial);
    this.client.onCrash((message) => this.alerts.show('error', 'The style worker stopped', message, 'error:crash'));
    this.renderSizes();
    this.wireContentInput();
    this.wireButtons();
    void this.showModelSizes();
    void this.offerSamples();
    this.ready = this.start();
  }

  // ---- engine ---------------------------------------------------------------------------------

  listener = (event: WorkerEvent): void => {
    if (event.type === 'stage') {
      this.progress.stage(event.stage, event.state);
      if (event.state === 'start') byId('busy-text').textContent = `${this.stageText(event.stage)}…`;
      return;
    }
    const { style, url, phase, loaded, total } = event;
    if (phase === 'parse') this.gallery.setStatus(style, cacheStorage() ? 'Cached' : 'Ready', 'ok');
    else if (total) this.gallery.setStatus(style, `${Math.floor((loaded / total) * 100)}%`, 'busy');
    else this.gallery.setStatus(style, formatBytes(loaded), 'busy');
    const title = style === IMAGE_STYLE ? 'arbitrary-style' : styleTitle(style);
    if (this.running) this.progress.model(title, url, phase, loaded, total);
  };

  stageText(stage: string): string {
    return (
      {
        'load-model': 'Loading the model',
        preprocess: 'Resizing',
        'predict-style': 'Reading the style',
        stylize: 'Stylizing',
        postprocess: 'Finishing',
      }[stage] ?? 'Working'
    );
  }

  async start(): Promise<InitReport | null> {
    this.setBadge('starting', 'Starting the engine…');
    try {
      const report = await this.client.api.init(
        { backend: this.preference, modelBase, threads: this.threads },
        Comlink.proxy(this.listener),
      );
      this.report = report;
      this.showEngine(report);
      if (this.content) await this.client.api.setContent(this.content.file, this.content.name);
      if (this.styleImage) await this.client.api.setStyleImage(this.styleImage.file, this.styleImage.name);
      this.updateRunButton();
      const style = this.gallery.selected;
      if (style && style !== IMAGE_STYLE) void this.preload(style);
      return report;
    } catch (err) {
      this.setBadge('error', 'Engine failed to start');
      this.showError(err);
      return null;
    }
  }

  setBadge(state: string, text: string): void {
    byId('backend-badge').dataset.state = state;
    byId('backend-badge-text').textContent = text;
  }

  showEngine(report: InitReport): void {
    this.setBadge('ready', `${report.backend} · ${report.detail}`);
    byId('backend-badge').dataset.backend = report.backend;
    byId('backend-badge').title = `Backend: ${report.backend} (${report.detail})`;
    document.body.dataset.backend = report.backend;

    // The selector lists every backend with what its probe said.
    this.backendSelect.replaceChildren(
      ...BACKEND_PREFERENCES.map((name) => {
        const status = report.backends.find((b) => b.name === name);
        const unavailable = status !== undefined && !status.available;
        return el('option', {
          value: name,
          text: `${BACKEND_LABELS[name]}${unavailable ? ' (unavailable)' : ''}`,
          disabled: unavailable,
          selected: name === this.preference,
        });
      }),
    );
    byId('backend-list').replaceChildren(
      ...report.backends.map((b) =>
        el(
          'li',
          {
            'data-backend': b.name,
            'data-available': String(b.available),
            'data-active': String(b.name === report.backend),
          },
          el('strong', { text: b.name }),
          el('span', {
            text:
              b.name === report.backend
                ? ` · running · ${report.detail}`
                : b.available
                  ? ' · available'
                  : ' · unavailable',
          }),
          el('small', { text: b.reason }),
        ),
      ),
    );

    const webgpu = report.backends.find((b) => b.name === 'webgpu');
    if (webgpu && !webgpu.available) {
      this.alerts.show(
        'info',
        'No WebGPU here',
        `Running on ${report.backend === 'wasm' ? 'WebAssembly' : report.backend} instead. ${webgpu.reason}.`,
        'info:webgpu',
      );
    } else this.alerts.dismiss('info:webgpu');
    // A CPU-emulated adapter is not an error (auto skips it for a faster backend): the Engine panel says so.
    byId('engine-note').textContent =
      webgpu?.available && webgpu.details.emulated === true && report.backend !== 'webgpu'
        ? `This browser's WebGPU adapter runs on the CPU (${[webgpu.details.vendor, webgpu.details.architecture].join(' ')}), ` +
          `so ${BACKEND_LABELS[report.backend as BackendPreference] ?? report.backend} was chosen: it is faster here.`
        : '';

    if (report.backend === 'wasm' && !report.crossOriginIsolated) {
      this.alerts.show(
        'warning',
        'WebAssembly runs on one thread',
        'This page is not cross-origin isolated, so it cannot share memory between threads. Serve it with ' +
          'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (npm run web:dev ' +
          'and web:preview do) for multi-threaded kernels.',
        'warning:isolation',
      );
    } else this.alerts.dismiss('warning:isolation');

    for (const f of report.failed.filter((x) => x.name === this.preference)) {
      this.alerts.show(
        'warning',
        `${BACKEND_LABELS[this.preference as BackendPreference] ?? f.name} could not start`,
        `${f.error}. Using ${report.backend} instead.`,
        'warning:backend',
      );
    }

    if (report.styleKinds.includes('image')) {
      this.gallery.enableImageStyle();
      byId('style-image-note').hidden = true;
    }
    if (!this.sizeChosen) {
      // The reference kernels are slow: start them small. Everything else starts at 512.
      const slow = report.backend === 'js' || (report.backend === 'webgpu' && /emulated/i.test(report.detail));
      this.setSize(slow ? 256 : 512);
    }
    this.updateStrength();
  }

  async restartEngine(): Promise<void> {
    this.client.restart();
    this.report = null;
    this.updateRunButton();
    this.ready = this.start();
    await this.ready;
  }

  async preload(style: string): Promise<void> {
    try {
      await this.client.api.preload(style);
    } catch (err) {
      this.gallery.setStatus(style, 'Unavailable', 'error');
      this.showError(err);
    }
  }

  // ---- inputs -----------------------------------------------------------------------------------

  selectStyle(style: string): void {
    this.updateStrength();
    this.updateRunButton();
    if (style !== IMAGE_STYLE && this.report) void this.preload(style);
  }

  async loadStyleImage(file: File): Promise<void> {
    try {
      await this.ready;
      await this.client.api.setStyleImage(file, file.name);
      this.styleImage = { file, name: file.name };
      this.gallery.setStyleImage(URL.createObjectURL(file), file.name);
      this.gallery.select(IMAGE_STYLE);
      this.selectStyle(IMAGE_STYLE);
    } catch (err) {
      this.showError(err);
    }
  }

  updateStrength(): void {
    const slider = byId<HTMLInputElement>('strength');
    const enabled = this.report?.styleKinds.includes('image') === true && this.gallery.selected === IMAGE_STYLE;
    slider.disabled = !enabled;
    byId('strength-hint').textContent = enabled
      ? 'How much of the style image to apply.'
      : this.report?.styleKinds.includes('image')
        ? 'Applies to style images.'
        : 'Applies to style images (coming soon).';
  }

  async setContentFile(file: Blob, name: string): Promise<void> {
    if (this.running) return;
    this.alerts.clearErrors();
    const dropzone = byId('dropzone');
    dropzone.dataset.state = 'loading';
    byId('dropzone-title').textContent = `Opening ${name}…`;
    try {
      await this.ready;
      const info = await this.client.api.setContent(file, name);
      if (this.content) URL.revokeObjectURL(this.content.url);
      this.content = { file, name, info, url: URL.createObjectURL(file) };
      const img = byId<HTMLImageElement>('before-img');
      img.src = this.content.url;
      img.hidden = false;
      this.compare.style.setProperty('--aspect', `${info.width} / ${info.height}`);
      this.compare.dataset.state = 'content';
      this.canvas.hidden = true;
      this.downloadButton.disabled = true;
      this.downloadButton.hidden = true;
      byId('after-caption').textContent = '';
      byId('result').hidden = true;
      this.progress.hide();
      byId('before-caption').textContent = `${info.width} × ${info.height}`;
      dropzone.dataset.state = 'loaded';
      byId('dropzone-title').textContent = name;
      byId('dropzone-sub').textContent = `${info.width} × ${info.height} px · ${formatBytes(info.bytes)}`;
    } catch (err) {
      dropzone.dataset.state = this.content ? 'loaded' : 'empty';
      byId('dropzone-title').textContent = this.content ? this.content.name : 'Drop a photo here';
      this.showError(err);
    }
    this.updateRunButton();
    this.updateSizeHint();
  }

  wireContentInput(): void {
    const input = byId<HTMLInputElement>('content-input');
    const dropzone = byId('dropzone');
    byId('browse').addEventListener('click', () => input.click());
    dropzone.addEventListener('click', (event) => {
      if (event.target === dropzone) input.click();
    });
    input.addEventListener('change', () => {
      const file = input.files?.[0];
      input.value = '';
      if (file) void this.setContentFile(file, file.name);
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
      if (file) void this.setContentFile(file, file.name);
    });
    window.addEventListener('paste', (e) => {
      const file = e.clipboardData?.files[0];
      if (file) void this.setContentFile(file, file.name || 'pasted image');
    });
  }

  async offerSamples(): Promise<void> {
    const row = byId('samples');
    // Only where the server has them (the demo servers do; a plain static host may not).
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
          this.alerts.show(
            'error',
            "Couldn't load the sample",
            `samples/${sample.file}: HTTP ${response?.status ?? '—'}`,
          );
          return;
        }
        await this.setContentFile(await response.blob(), sample.file);
      });
      row.append(button);
    }
    row.hidden = false;
  }

  /** Card labels: "Cached" for models in the Cache API, else the download size the server reports. */
  async showModelSizes(): Promise<void> {
    const storage = cacheStorage();
    const cache = storage ? await storage.open(MODEL_CACHE).catch(() => null) : null;
    const magenta = ARBITRARY_STYLE_MODELS[DEFAULT_ARBITRARY_WEIGHTS];
    const cards = [
      ...NAMED_STYLES.map((s) => ({ card: s.name, urls: [modelFileUrl(modelBase, s.model, s.file)] })),
      {
        card: IMAGE_STYLE,
        urls: [magenta.prediction, magenta.transfer].map((f) => modelFileUrl(modelBase, magenta.model, f)),
      },
    ];
    await Promise.all(
      cards.map(async ({ card, urls }) => {
        const cached = await Promise.all(urls.map((u) => cache?.match(u).catch(() => undefined)));
        if (cached.every(Boolean)) {
          this.gallery.setStatus(card, 'Cached', 'ok');
          return;
        }
        const heads = await Promise.all(urls.map((u) => fetch(u, { method: 'HEAD' }).catch(() => null)));
        if (heads.some((h) => h && !h.ok)) {
          this.gallery.setStatus(card, 'Missing', 'error');
          return;
        }
        const bytes = heads.reduce((sum, h) => sum + Number(h?.headers.get('Content-Length') ?? Number.NaN), 0);
        if (bytes > 0) this.gallery.setStatus(card, formatBytes(bytes));
      }),
    );
  }

  renderSizes(): void {
    const sizes = [...SIZES];
    if (this.size !== null && !sizes.includes(this.size)) sizes.push(this.size);
    sizes.sort((a, b) => a - b);
    const root = byId('size-options');
    root.replaceChildren(
      ...sizes.map((size) => {
        const input = el('input', { type: 'radio', name: 'size', value: size, id: `size-${size}` });
        input.addEventListener('change', () => {
          this.sizeChosen = true;
          this.setSize(size);
        });
        return el('label', { className: 'segment', for: `size-${size}` }, input, el('span', { text: String(size) }));
      }),
    );
    if (this.size !== null) this.setSize(this.size);
  }

  setSize(size: number): void {
    this.size = size;
    const input = document.getElementById(`size-${size}`) as HTMLInputElement | null;
    if (input) input.checked = true;
    this.updateSizeHint();
  }

  updateSizeHint(): void {
    const hint = byId('size-hint');
    if (this.content && this.size) {
      const out = outputSize(this.content.info, this.size);
      hint.textContent = `Output ${out.width} × ${out.height} px (long side ${this.size}).`;
    } else hint.textContent = 'Long side in pixels; the aspect ratio is kept.';
  }

  updateRunButton(): void {
    const style = this.gallery.selected;
    const styleReady = style !== null && (style !== IMAGE_STYLE || this.styleImage !== null);
    this.runButton.disabled = this.running || !this.report || !this.content || !styleReady || this.size === null;
  }

  wireButtons(): void {
    this.runButton.addEventListener('click', () => void this.run());
    this.cancelButton.addEventListener('click', () => this.cancel?.());
    this.downloadButton.addEventListener('click', () => this.download());
    this.backendSelect.addEventListener('change', () => {
      this.preference = parsePreference(this.backendSelect.value);
      const url = new URL(location.href);
      url.searchParams.set('backend', this.preference);
      history.replaceState(null, '', url);
      this.alerts.dismiss('warning:backend');
      void this.restartEngine();
    });
    const strength = byId<HTMLInputElement>('strength');
    strength.addEventListener('input', () => {
      byId('strength-value').textContent = `${strength.value}%`;
    });
    // The pipeline caches style vectors, so a new strength only re-runs the transfer network: apply it at once.
    strength.addEventListener('change', () => {
      if (this.lastResult?.kind === 'image' && this.gallery.selected === IMAGE_STYLE && !this.running) void this.run();
    });
  }

  // ---- running ----------------------------------------------------------------------------------

  setRunning(running: boolean): void {
    this.running = running;
    this.cancelButton.hidden = !running;
    this.runButton.textContent = running ? 'Stylizing…' : 'Stylize';
    byId('busy').hidden = !running;
    this.compare.dataset.running = String(running);
    this.updateRunButton();
  }

  async run(): Promise<void> {
    const style = this.gallery.selected;
    if (!this.content || !style || this.size === null || this.running) return;
    this.alerts.clearErrors();
    this.setRunning(true);
    this.progress.reset(style === IMAGE_STYLE ? 'image' : 'named');
    // One column on small screens: bring the result area into view.
    if (window.matchMedia('(max-width: 920px)').matches) this.compare.scrollIntoView({ behavior: 'smooth' });
    byId('result').hidden = true;
    const cancelled = new Promise<never>((_, reject) => {
      this.cancel = () => reject(new CancelledError());
    });
    const strength = Number(byId<HTMLInputElement>('strength').value) / 100;
    try {
      const reply = await Promise.race([
        this.client.api.transfer({
          style: style === IMAGE_STYLE ? { kind: 'image' } : { kind: 'named', name: style },
          size: this.size,
          strength: style === IMAGE_STYLE ? strength : undefined,
        }),
        cancelled,
      ]);
      this.showResult(reply, style);
    } catch (err) {
      this.progress.fail();
      if (err instanceof CancelledError) {
        this.progress.hide();
        this.alerts.show('info', 'Cancelled', 'The run was stopped; the engine restarted.', 'info:cancel');
        void this.restartEngine();
      } else this.showError(err);
    } finally {
      this.cancel = null;
      this.setRunning(false);
    }
  }

  showResult(reply: TransferReply, style: string): void {
    this.canvas.width = reply.width;
    this.canvas.height = reply.height;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) throw new Error('this browser gives no 2D canvas');
    ctx.putImageData(new ImageData(reply.pixels, reply.width, reply.height), 0, 0);
    this.canvas.hidden = false;
    this.compare.dataset.state = 'done';
    const title = style === IMAGE_STYLE ? (this.styleImage?.name ?? 'Style image') : styleTitle(style);
    byId('after-caption').textContent = `${title} · ${reply.width} × ${reply.height}`;
    this.progress.finish(reply);
    this.progress.hide();
    const result = byId('result');
    renderResult(result, reply, title, this.report?.detail ?? reply.backend);
    result.hidden = false;
    result.dataset.state = 'done';
    result.dataset.backend = reply.backend;
    this.downloadButton.disabled = false;
    this.downloadButton.hidden = false;
    this.lastResult = {
      style: reply.style,
      name: this.content?.name ?? 'image',
      kind: style === IMAGE_STYLE ? 'image' : 'named',
    };
    if (style !== IMAGE_STYLE) this.gallery.setPreview(style, this.thumbnail());
  }

  thumbnail(): string {
    const scale = 160 / Math.max(this.canvas.width, this.canvas.height);
    const thumb = el('canvas', {
      width: Math.max(1, Math.round(this.canvas.width * scale)),
      height: Math.max(1, Math.round(this.canvas.height * scale)),
    });
    thumb.getContext('2d')?.drawImage(this.canvas, 0, 0, thumb.width, thumb.height);
    return thumb.toDataURL('image/jpeg', 0.85);
  }

  download(): void {
    if (!this.lastResult) return;
    const base = this.lastResult.name.replace(/\.[^.]+$/, '') || 'image';
    const name = `${base}-${this.lastResult.style}.png`;
    this.canvas.toBlob((blob) => {
      if (!blob) {
        this.alerts.show('error', 'Download failed', 'The browser could not encode the canvas as PNG.');
        return;
      }
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }, 'image/png');
  }

  showError(err: unknown): void {
    const kind = errorKind(err);
    this.alerts.show('error', ERROR_TITLES[kind], errorMessage(err), `error:${kind}`);
    console.error(err);
  }
}

const app = new App();
// For debugging in the console and for the end-to-end test.
(window as unknown as { styleDemo: App }).styleDemo = app;
