/**
 * The demo page: wires the controls to the style worker and shows what it reports. All the
 * work (decoding, models, the network) happens in the worker; this thread only draws. The
 * panels live in ui/ (engine, content input, sizes, output, gallery, progress, results); this
 * file holds the page's state and the run.
 *
 * URL parameters, for links and tests: `?backend=auto|webgpu|wasm|js`, `?size=N` (adds an
 * output size), `?threads=N` (wasm threads), `?style=NAME`.
 */
import './styles.css';
import * as Comlink from 'comlink';
import { DEFAULT_STYLE, findStyle, NAMED_STYLES } from '../../models/styles.js';
import { type DemoErrorKind, errorKind, errorMessage } from './errors.js';
import { cacheStorage } from './models.js';
import {
  BACKEND_PREFERENCES,
  type BackendPreference,
  type ContentInfo,
  type InitReport,
  type TransferReply,
  type WorkerEvent,
} from './protocol.js';
import { Alerts } from './ui/alerts.js';
import { offerSamples, wireContentInput } from './ui/content-input.js';
import { byId } from './ui/dom.js';
import { setBadge, showEngine, slowBackend } from './ui/engine.js';
import { formatBytes } from './ui/format.js';
import { Gallery, IMAGE_STYLE } from './ui/gallery.js';
import { showModelSizes } from './ui/model-sizes.js';
import { OutputView } from './ui/output.js';
import { ProgressView } from './ui/progress.js';
import { renderResult } from './ui/results.js';
import { SizePicker } from './ui/sizes.js';
import { WorkerClient } from './worker-client.js';

const ERROR_TITLES: Readonly<Record<DemoErrorKind | 'other', string>> = {
  'unsupported-file': "Can't open that file",
  'too-large': 'That image is too large',
  'model-load': 'The style model failed to load',
  backend: 'No backend could start',
  'no-content': 'Nothing to stylize yet',
  other: 'Something went wrong',
};

const STAGE_TEXT: Readonly<Record<string, string>> = {
  'load-model': 'Loading the model',
  preprocess: 'Resizing',
  'predict-style': 'Reading the style',
  stylize: 'Stylizing',
  postprocess: 'Finishing',
};

class CancelledError extends Error {}

const params = new URLSearchParams(location.search);
const modelBase = new URL('models/', document.baseURI).href;

function parsePreference(value: string | null): BackendPreference {
  return BACKEND_PREFERENCES.includes(value as BackendPreference) ? (value as BackendPreference) : 'auto';
}

function parsePositive(value: string | null): number | undefined {
  const n = Number(value);
  return value !== null && Number.isInteger(n) && n > 0 ? n : undefined;
}

function styleTitle(name: string): string {
  return findStyle(name)?.title.replace(/\s*\(.*\)$/, '') ?? name;
}

class App {
  readonly alerts = new Alerts(byId('alerts'));
  readonly progress = new ProgressView(byId('progress'));
  readonly client = new WorkerClient();
  readonly output = new OutputView();
  readonly gallery: Gallery;
  readonly sizes: SizePicker;
  readonly runButton = byId<HTMLButtonElement>('run');
  readonly cancelButton = byId<HTMLButtonElement>('cancel');
  readonly backendSelect = byId<HTMLSelectElement>('backend-select');
  readonly compare = byId('compare');

  preference = parsePreference(params.get('backend'));
  threads = parsePositive(params.get('threads'));
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
    this.sizes = new SizePicker(parsePositive(params.get('size')) ?? null, () => this.updateRunButton());
    wireContentInput((file, name) => void this.setContentFile(file, name));
    this.wireButtons();
    void showModelSizes(this.gallery, modelBase);
    void offerSamples((file, name) => this.setContentFile(file, name), this.alerts);
    this.ready = this.start();
  }

  // ---- engine ---------------------------------------------------------------------------------

  listener = (event: WorkerEvent): void => {
    if (event.type === 'stage') {
      this.progress.stage(event.stage, event.state);
      if (event.state === 'start') byId('busy-text').textContent = `${STAGE_TEXT[event.stage] ?? 'Working'}…`;
      return;
    }
    const { style, url, phase, loaded, total } = event;
    if (phase === 'parse') this.gallery.setStatus(style, cacheStorage() ? 'Cached' : 'Ready', 'ok');
    else if (total) this.gallery.setStatus(style, `${Math.floor((loaded / total) * 100)}%`, 'busy');
    else this.gallery.setStatus(style, formatBytes(loaded), 'busy');
    const title = style === IMAGE_STYLE ? 'arbitrary-style' : styleTitle(style);
    if (this.running) this.progress.model(title, url, phase, loaded, total);
  };

  async start(): Promise<InitReport | null> {
    setBadge('starting', 'Starting the engine…');
    try {
      const report = await this.client.api.init(
        { backend: this.preference, modelBase, threads: this.threads },
        Comlink.proxy(this.listener),
      );
      this.report = report;
      showEngine(report, this.preference, this.alerts);
      if (report.styleKinds.includes('image')) {
        this.gallery.enableImageStyle();
        byId('style-image-note').hidden = true;
      }
      // Slow backends start small; everything else at 512 (unless the user picked a size).
      if (!this.sizes.chosen) this.sizes.set(slowBackend(report) ? 256 : 512);
      this.updateStrength();
      if (this.content) await this.client.api.setContent(this.content.file, this.content.name);
      if (this.styleImage) await this.client.api.setStyleImage(this.styleImage.file, this.styleImage.name);
      this.updateRunButton();
      const style = this.gallery.selected;
      if (style && style !== IMAGE_STYLE) void this.preload(style);
      return report;
    } catch (err) {
      setBadge('error', 'Engine failed to start');
      this.showError(err);
      return null;
    }
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
      this.output.clear();
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
    this.sizes.setContent(this.content?.info ?? null);
  }

  updateRunButton(): void {
    const style = this.gallery.selected;
    const styleReady = style !== null && (style !== IMAGE_STYLE || this.styleImage !== null);
    this.runButton.disabled = this.running || !this.report || !this.content || !styleReady || this.sizes.size === null;
  }

  wireButtons(): void {
    this.runButton.addEventListener('click', () => void this.run());
    this.cancelButton.addEventListener('click', () => this.cancel?.());
    this.output.downloadButton.addEventListener('click', () => {
      if (!this.lastResult) return;
      const base = this.lastResult.name.replace(/\.[^.]+$/, '') || 'image';
      this.output.download(`${base}-${this.lastResult.style}.png`, this.alerts);
    });
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
    const size = this.sizes.size;
    if (!this.content || !style || size === null || this.running) return;
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
          size,
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
    this.output.show(reply);
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
    this.lastResult = {
      style: reply.style,
      name: this.content?.name ?? 'image',
      kind: style === IMAGE_STYLE ? 'image' : 'named',
    };
    if (style !== IMAGE_STYLE) this.gallery.setPreview(style, this.output.thumbnail());
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
