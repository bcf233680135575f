/**
 * A native kernel stopped by Ctrl-C (the addon's thread pool throws 'interrupted (SIGINT)' before Node's
 * own handler has run) reaches the CLI as the core's CancelledError, so the command exits 130 rather than 1;
 * any other failure of the native code passes through unchanged.
 */
import { describe, expect, it } from 'vitest';
import '../../backends/node.js';
import { nativeKernel } from '../../backends/native/kernel.js';
import type { NativeStorage } from '../../backends/native/storage.js';
import type { Backend } from '../../core/backend.js';
import { CancelledError } from '../../core/errors.js';
import { backendSkipReason, titled } from '../helpers/requirements.js';

const skip = await backendSkipReason('native');

function failingKernel(message: string) {
  return nativeKernel<Record<string, never>>({
    op: 'test-op',
    attrs: [],
    ref: () => [],
    run: () => {
      throw new Error(message);
    },
  });
}

describe('native kernels and Ctrl-C', () => {
  it.skipIf(skip)(titled("the pool's interrupt becomes a CancelledError; other errors pass through", skip), () => {
    const backend = {} as Backend<NativeStorage>;
    expect(() => failingKernel('interrupted (SIGINT)')([], {}, [], backend)).toThrow(CancelledError);
    expect(() => failingKernel('interrupted (SIGINT)')([], {}, [], backend)).toThrow('interrupted (Ctrl-C)');
    const other = (() => {
      try {
        failingKernel('conv2d: bad geometry')([], {}, [], backend);
      } catch (err) {
        return err as Error;
      }
    })();
    expect(other?.name).toBe('Error');
    expect(other?.message).toBe('conv2d: bad geometry');
  });
});
