/**
 * Style LoRAs for Stable Diffusion: low-rank updates to the UNet and text encoder, merged into the weights
 * before the networks are built: `W ← W + weight · (α/r) · up·down` (α/r = 1 when the file gives no α).
 *
 * Two file layouts (safetensors):
 * - diffusers / PEFT: `unet.<module>.lora_A.weight` (down, [r, in]) and `.lora_B.weight` (up, [out, r]);
 *   also the older `<module>.lora.down/up.weight`, the attention-processor form
 *   `…attn1.processor.to_q_lora.down.weight`, and `text_encoder.` for the text encoder. Keys without a
 *   component prefix belong to the UNet.
 * - kohya (sd-scripts): `lora_unet_<module with _ for .>.lora_down.weight` / `.lora_up.weight` / `.alpha`, and
 *   `lora_te_…` for the text encoder. The underscored name is matched against the model's own module names,
 *   so `to_out_0` finds `to_out.0` without guessing.
 * Linear modules and convolutions (LoCon: down [r, in, kh, kw], up [out, r, 1, 1]) are both merged.
 * @module
 */
import { UsageError } from '../../core/errors.js';
import { floatValues, type SafetensorsReader } from '../../core/io/safetensors.js';
import * as T from '../../index.js';
import type { Weights } from './weights.js';

export interface LoraFile {
  readonly reader: SafetensorsReader;
  /** Multiplies the update (1 = as trained; 0 = off). */
  readonly weight: number;
  /** PEFT's lora_alpha (adapter_config.json), when the file has no `.alpha` tensors; default: α = r. */
  readonly alpha?: number;
}

export type LoraComponent = 'unet' | 'textEncoder';

interface Pair {
  down?: string;
  up?: string;
  alpha?: string;
}

/** One LoRA key as (component, module, part), in either layout; undefined for keys that are not LoRA tensors. */
export function parseLoraKey(
  key: string,
): { component: LoraComponent; module: string; part: keyof Pair; kohya: boolean } | undefined {
  const kohya = /^lora_(unet|te1?)_(.+?)\.(lora_down\.weight|lora_up\.weight|alpha)$/.exec(key);
  if (kohya) {
    const part = kohya[3] === 'alpha' ? 'alpha' : kohya[3].startsWith('lora_down') ? 'down' : 'up';
    return { component: kohya[1] === 'unet' ? 'unet' : 'textEncoder', module: kohya[2], part, kohya: true };
  }
  let k = key.replace(/^base_model\.model\./, '');
  let component: LoraComponent = 'unet';
  if (k.startsWith('text_encoder.')) {
    component = 'textEncoder';
    k = k.slice('text_encoder.'.length);
  } else if (k.startsWith('unet.')) k = k.slice('unet.'.length);
  const forms: [RegExp, keyof Pair][] = [
    [/^(.+)\.lora_A(?:\.default)?\.weight$/, 'down'],
    [/^(.+)\.lora_B(?:\.default)?\.weight$/, 'up'],
    [/^(.+)\.lora(?:_linear_layer)?\.down\.weight$/, 'down'],
    [/^(.+)\.lora(?:_linear_layer)?\.up\.weight$/, 'up'],
    [/^(.+)\.alpha$/, 'alpha'],
  ];
  for (const [re, part] of forms) {
    const m = re.exec(k);
    if (!m) continue;
    return { component, module: m[1], part, kohya: false };
  }
  // The attention-processor form: attn1.processor.to_q_lora.down.weight → attn1.to_q (to_out_lora → to_out.0).
  const proc = /^(.+)\.processor\.(to_[qkv]|to_out)_lora\.(down|up)\.weight$/.exec(k);
  if (proc) {
    const module = `${proc[1]}.${proc[2] === 'to_out' ? 'to_out.0' : proc[2]}`;
    return { component, module, part: proc[3] as 'down' | 'up', kohya: false };
  }
  return undefined;
}

async function readF32(reader: SafetensorsReader, name: string): Promise<{ data: Float32Array; shape: number[] }> {
  const t = await reader.readAsCore(name);
  const data = floatValues(t);
  if (data) return { data, shape: t.shape };
  throw new UsageError(`${reader.source.name}: LoRA tensor "${name}" is ${t.fileDType}; expected F32, F16 or BF16`);
}

export interface LoraReport {
  /** Modules updated per component, over all files. */
  readonly unet: number;
  readonly textEncoder: number;
}

/** Merges each LoRA file into the weights, in order. Throws naming the file and key when a module is unknown. */
export async function applyLoras(
  files: readonly LoraFile[],
  targets: Readonly<Record<LoraComponent, Weights>>,
): Promise<LoraReport> {
  const counts = { unet: 0, textEncoder: 0 };
  for (const file of files) {
    const name = file.reader.source.name;
    if (!Number.isFinite(file.weight)) throw new UsageError(`${name}: LoRA weight ${file.weight} must be a number`);
    const modules = new Map<string, Pair & { component: LoraComponent }>();
    // kohya module names, underscored, to the model's dotted ones.
    const kohyaNames = {
      unet: new Map(targets.unet.names.map((n) => [n.replace(/\.weight$/, '').replace(/\./g, '_'), n])),
      textEncoder: new Map(targets.textEncoder.names.map((n) => [n.replace(/\.weight$/, '').replace(/\./g, '_'), n])),
    };
    for (const key of file.reader.names) {
      const parsed = parseLoraKey(key);
      if (!parsed) {
        throw new UsageError(
          `${name}: "${key}" is not a LoRA tensor in the diffusers (lora_A/lora_B) or kohya (lora_down/lora_up) layout`,
        );
      }
      let target: string | undefined;
      if (parsed.kohya) target = kohyaNames[parsed.component].get(parsed.module);
      else target = targets[parsed.component].has(`${parsed.module}.weight`) ? `${parsed.module}.weight` : undefined;
      if (!target) {
        const which = parsed.component === 'unet' ? 'UNet' : 'text encoder';
        throw new UsageError(
          `${name}: "${key}" updates ${parsed.module}, which the ${which} of this model does not have; ` +
            'the LoRA was made for another architecture (SD 1.x vs 2.x vs SDXL)',
        );
      }
      const id = `${parsed.component}:${target}`;
      const entry = modules.get(id) ?? { component: parsed.component };
      entry[parsed.part] = key;
      modules.set(id, entry);
    }
    if (modules.size === 0) throw new UsageError(`${name}: no LoRA tensors in this file`);
    for (const [id, entry] of modules) {
      const target = id.slice(id.indexOf(':') + 1);
      if (!entry.down || !entry.up) {
        throw new UsageError(
          `${name}: ${target} has ${entry.down ? 'a down' : 'an up'} matrix but no ${entry.down ? 'up' : 'down'} one`,
        );
      }
      const weights = targets[entry.component];
      const w = weights.get(target, weights.shapeOf(target));
      const down = await readF32(file.reader, entry.down);
      const up = await readF32(file.reader, entry.up);
      const rank = down.shape[0];
      const out = w.shape[0];
      const inner = w.size / out; // in·kh·kw
      if (
        up.shape[0] !== out ||
        up.shape[1] !== rank ||
        up.data.length !== out * rank ||
        down.data.length !== rank * inner
      ) {
        throw new UsageError(
          `${name}: ${target} is [${w.shape.join(', ')}] but the LoRA has down [${down.shape.join(', ')}] and up ` +
            `[${up.shape.join(', ')}]; they do not multiply to its shape`,
        );
      }
      let alpha = file.alpha ?? rank;
      if (entry.alpha) alpha = (await readF32(file.reader, entry.alpha)).data[0];
      const scale = file.weight * (alpha / rank);
      const merged = T.tidy(() => {
        const delta = T.matmul(T.tensor(up.data, [out, rank]), T.tensor(down.data, [rank, inner]));
        return T.add(w, T.mul(T.reshape(delta, w.shape), scale));
      });
      weights.replace(target, merged);
      counts[entry.component]++;
    }
  }
  return counts;
}
