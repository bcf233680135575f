// The install-time settings in .npmrc and package.json: npm reads them without warnings, and
// onnxruntime-node's install script (which downloads CUDA libraries from NuGet on linux/x64, out of
// reach on CI) exits without downloading anything when npm runs it.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface NpmRun {
  code: number;
  out: string;
  err: string;
}

function npm(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<NpmRun> {
  return new Promise((resolve) => {
    execFile('npm', args, { cwd: root, env }, (error, out, err) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, out, err });
    });
  });
}

// Newer npm versions run a dependency's install scripts only when package.json's allowScripts approves them.
const approvals = await npm(['install-scripts', 'ls']);
const approvalsSupported = !/Unknown command/i.test(approvals.err + approvals.out);

describe('npm settings', () => {
  it("runs onnxruntime-node's install script as npm would, without warnings or downloads", async () => {
    const { ONNXRUNTIME_NODE_INSTALL: _, ...env } = process.env;
    // A dead proxy (global-agent, which the script bootstraps, honours it): a download attempt fails the
    // script at once instead of fetching hundreds of megabytes.
    const r = await npm(
      [
        'exec',
        '-c',
        'node node_modules/onnxruntime-node/script/install.js && node -p process.env.ONNXRUNTIME_NODE_INSTALL',
      ],
      { ...env, GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9' },
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe('skip');
    expect(r.err).not.toMatch(/warn|Downloading/i);
  });

  it.skipIf(!approvalsSupported)('leaves no dependency install script unreviewed (npm install-scripts ls)', () => {
    expect(approvals.code, approvals.err).toBe(0);
    expect(approvals.out).toMatch(/No packages with unreviewed install scripts/);
    expect(approvals.err).not.toMatch(/warn/i);
  });
});
