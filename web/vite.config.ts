/**
 * The browser demo: `npm run web:dev`, `npm run web:build` (to web/dist), `npm run web:preview`.
 * Model weights are served at run time by the demo-server plugin, never bundled.
 * EAI_WEB_ISOLATION=0 leaves out COOP/COEP (to try the one-thread wasm path by hand).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { demoServer } from './server/demo-server.js';

const webDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(webDir, '..');

export default defineConfig({
  root: webDir,
  // Relative asset URLs: the built page also works from a sub-path (models are fetched from /models/ there too).
  base: './',
  plugins: [demoServer({ isolate: process.env.EAI_WEB_ISOLATION !== '0' })],
  server: {
    host: '127.0.0.1',
    // The page imports core/, kernels/ and backends/ (WGSL and kernels.wasm) from outside web/.
    fs: { allow: [repoRoot] },
  },
  preview: { host: '127.0.0.1' },
  // The worker splits into chunks (backends load lazily), which only module workers support.
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One model is 6.7 MB but is never bundled; the largest chunk is the toolkit itself.
    chunkSizeWarningLimit: 1500,
    // Two pages: the style demo and the Text page.
    rollupOptions: { input: { main: resolve(webDir, 'index.html'), text: resolve(webDir, 'text.html') } },
  },
});
