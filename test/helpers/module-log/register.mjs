// `node --import ./register.mjs app.js`: records every module the process loads, with the module that
// first imported it, and writes them as JSON ({ url, parent }[]) to the file named by EAI_MODULE_LOG at exit.
// Used by test/cli/lazy-load.test.ts; plain JavaScript because Node loads it before any build step.
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const file = process.env.EAI_MODULE_LOG;
if (!file) throw new Error('module-log: set EAI_MODULE_LOG to the file the module list goes to');
const { port1, port2 } = new MessageChannel();
const loaded = [];
port1.on('message', (entry) => loaded.push(entry));
port1.unref();
register('./hooks.mjs', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
process.on('exit', () => writeFileSync(file, JSON.stringify(loaded)));
