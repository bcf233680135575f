/// <reference types="@webgpu/types" />
/**
 * Shader validation against a real WebGPU device: compilation messages as
 * `file:line:col: message`, and pipeline creation for an entry point (catches a
 * missing entry or an invalid binding layout). Used by the WGSL validation test.
 */
import { formatCompilation, type ShaderVariant, specialize } from './shaders.js';

/** Errors compiling `code` (named `name` in messages), or null. */
export async function checkSource(
  device: GPUDevice,
  name: string,
  code: string,
  params?: Readonly<Record<string, string>>,
): Promise<string | null> {
  const module = device.createShaderModule({ code, label: name });
  const info = await module.getCompilationInfo();
  return formatCompilation(name, info.messages, params);
}

/** Errors compiling a specialisation of a shader, or null. */
export function checkVariant(device: GPUDevice, v: ShaderVariant, source: string): Promise<string | null> {
  return checkSource(device, v.shader.name, specialize(source, v.params), v.params);
}

/**
 * Errors compiling a variant or building its compute pipeline (its entry point and
 * binding layout), or null. Pipeline creation is where a CPU-emulated adapter compiles
 * to machine code, so tests build one pipeline per file and entry point, not per variant.
 */
export async function checkPipeline(device: GPUDevice, v: ShaderVariant, source: string): Promise<string | null> {
  const code = specialize(source, v.params);
  const compiled = await checkSource(device, v.shader.name, code, v.params);
  if (compiled) return compiled;
  device.pushErrorScope('validation');
  device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code }), entryPoint: v.entry ?? 'main' },
  });
  const err = await device.popErrorScope();
  return err ? `${v.shader.name} entry '${v.entry ?? 'main'}': ${err.message}` : null;
}
