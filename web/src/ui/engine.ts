/** The Engine panel: the backend badge, the backend selector and list, and what the probes said. */
import type { BackendPreference, InitReport } from '../protocol.js';
import { BACKEND_PREFERENCES } from '../protocol.js';
import type { Alerts } from './alerts.js';
import { byId, el } from './dom.js';

export const BACKEND_LABELS: Readonly<Record<BackendPreference, string>> = {
  auto: 'Automatic (fastest available)',
  webgpu: 'WebGPU',
  wasm: 'WebAssembly SIMD',
  js: 'JavaScript',
};

export function setBadge(state: string, text: string): void {
  byId('backend-badge').dataset.state = state;
  byId('backend-badge-text').textContent = text;
}

/** Show a started engine: the badge, every backend with what its probe said, and the alerts it calls for. */
export function showEngine(report: InitReport, preference: BackendPreference, alerts: Alerts): void {
  setBadge('ready', `${report.backend} · ${report.detail}`);
  byId('backend-badge').dataset.backend = report.backend;
  byId('backend-badge').title = `Backend: ${report.backend} (${report.detail})`;
  document.body.dataset.backend = report.backend;

  byId<HTMLSelectElement>('backend-select').replaceChildren(
    ...BACKEND_PREFERENCES.map((name) => {
      const status = report.backends.find((b) => b.name === name);
      const unavailable = status !== undefined && !status.available;
      return el('option', {
        value: name,
        text: `${BACKEND_LABELS[name]}${unavailable ? ' (unavailable)' : ''}`,
        disabled: unavailable,
        selected: name === preference,
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
    alerts.show(
      'info',
      'No WebGPU here',
      `Running on ${report.backend === 'wasm' ? 'WebAssembly' : report.backend} instead. ${webgpu.reason}.`,
      'info:webgpu',
    );
  } else alerts.dismiss('info:webgpu');
  // A CPU-emulated adapter is not an error (auto skips it for a faster backend): the Engine panel says so.
  byId('engine-note').textContent =
    webgpu?.available && webgpu.details.emulated === true && report.backend !== 'webgpu'
      ? `This browser's WebGPU adapter runs on the CPU (${[webgpu.details.vendor, webgpu.details.architecture].join(' ')}), ` +
        `so ${BACKEND_LABELS[report.backend as BackendPreference] ?? report.backend} was chosen: it is faster here.`
      : '';

  if (report.backend === 'wasm' && !report.crossOriginIsolated) {
    alerts.show(
      'warning',
      'WebAssembly runs on one thread',
      'This page is not cross-origin isolated, so it cannot share memory between threads. Serve it with ' +
        'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (npm run web:dev ' +
        'and web:preview do) for multi-threaded kernels.',
      'warning:isolation',
    );
  } else alerts.dismiss('warning:isolation');

  for (const f of report.failed.filter((x) => x.name === preference)) {
    alerts.show(
      'warning',
      `${BACKEND_LABELS[preference] ?? f.name} could not start`,
      `${f.error}. Using ${report.backend} instead.`,
      'warning:backend',
    );
  }
}

/** The reference kernels and CPU-emulated WebGPU are slow: such a backend starts at a small size. */
export function slowBackend(report: InitReport): boolean {
  return report.backend === 'js' || (report.backend === 'webgpu' && /emulated/i.test(report.detail));
}
