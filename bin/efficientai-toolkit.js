#!/usr/bin/env node
// Shim for the `efficientai-toolkit` command: the CLI itself is TypeScript compiled into dist/.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error(
    'efficientai-toolkit: the CLI is not built (dist/cli/main.js is missing): run npm install (it builds the CLI) or npm run build',
  );
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli();
