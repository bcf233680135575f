/**
 * The Text page: stories260K generates in the text worker; tokens are appended as they come,
 * with tokens/s, and Cancel stops after the current token.
 *
 * URL parameter: `?backend=auto|webgpu|wasm|js` (auto: WebGPU on a real adapter > wasm > js).
 */
import './styles.css';
import * as Comlink from 'comlink';
import { errorMessage } from './errors.js';
import { BACKEND_PREFERENCES, type BackendPreference } from './protocol.js';
import type { TextWorkerApi } from './text-protocol.js';
import { byId } from './ui/dom.js';

const modelBase = new URL('models/', document.baseURI).href;
const param = new URLSearchParams(location.search).get('backend') ?? 'auto';
const backend: BackendPreference = (BACKEND_PREFERENCES as readonly string[]).includes(param)
  ? (param as BackendPreference)
  : 'auto';

const badge = byId('text-backend');
const badgeText = byId('text-backend-text');
const alerts = byId('text-alerts');
const prompt = byId<HTMLTextAreaElement>('text-prompt');
const maxTokens = byId<HTMLInputElement>('text-max-tokens');
const temperature = byId<HTMLInputElement>('text-temperature');
const run = byId<HTMLButtonElement>('text-run');
const cancel = byId<HTMLButtonElement>('text-cancel');
const rate = byId('text-rate');
const output = byId('text-output');

function fail(err: unknown): void {
  const p = document.createElement('p');
  p.className = 'alert alert-error';
  p.textContent = errorMessage(err);
  alerts.replaceChildren(p);
}

const worker = new Worker(new URL('./worker/text-worker.ts', import.meta.url), { type: 'module', name: 'text' });
const api = Comlink.wrap<TextWorkerApi>(worker);

async function start(): Promise<void> {
  try {
    const report = await api.init(backend, modelBase);
    badge.dataset.state = 'ready';
    badge.dataset.backend = report.backend;
    badgeText.textContent = `stories260K on ${report.backend}`;
    run.disabled = false;
  } catch (err) {
    badge.dataset.state = 'error';
    badgeText.textContent = 'No engine';
    fail(err);
  }
}

async function generate(): Promise<void> {
  run.disabled = true;
  cancel.disabled = false;
  alerts.replaceChildren();
  output.textContent = prompt.value;
  output.dataset.state = 'running';
  output.dataset.chunks = '0';
  rate.textContent = '';
  const started = performance.now();
  let chunks = 0;
  try {
    const reply = await api.generate(
      { prompt: prompt.value, maxTokens: Number(maxTokens.value), temperature: Number(temperature.value) },
      Comlink.proxy((text: string, tokens: number) => {
        output.append(text);
        output.dataset.chunks = String(++chunks);
        rate.textContent = `${tokens} tokens · ${((tokens * 1000) / (performance.now() - started)).toFixed(1)} tokens/s`;
      }),
    );
    rate.textContent =
      `${reply.tokens} tokens · ${reply.decodeTokensPerSecond.toFixed(1)} tokens/s decoding · ` +
      `first token after ${reply.timeToFirstTokenMs.toFixed(0)} ms${reply.finishReason === 'abort' ? ' · cancelled' : ''}`;
    output.dataset.state = reply.finishReason === 'abort' ? 'cancelled' : 'done';
  } catch (err) {
    output.dataset.state = 'error';
    fail(err);
  } finally {
    run.disabled = false;
    cancel.disabled = true;
  }
}

run.addEventListener('click', () => void generate());
cancel.addEventListener('click', () => void api.cancel());
void start();
