/** Style card labels: "Cached" for models in the Cache API, else the download size the server reports. */
import { ARBITRARY_STYLE_MODELS, DEFAULT_ARBITRARY_WEIGHTS, NAMED_STYLES } from '../../../models/styles.js';
import { cacheStorage, MODEL_CACHE, modelFileUrl } from '../models.js';
import { formatBytes } from './format.js';
import { type Gallery, IMAGE_STYLE } from './gallery.js';

export async function showModelSizes(gallery: Gallery, modelBase: string): Promise<void> {
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
        gallery.setStatus(card, 'Cached', 'ok');
        return;
      }
      const heads = await Promise.all(urls.map((u) => fetch(u, { method: 'HEAD' }).catch(() => null)));
      if (heads.some((h) => h && !h.ok)) {
        gallery.setStatus(card, 'Missing', 'error');
        return;
      }
      const bytes = heads.reduce((sum, h) => sum + Number(h?.headers.get('Content-Length') ?? Number.NaN), 0);
      if (bytes > 0) gallery.setStatus(card, formatBytes(bytes));
    }),
  );
}
