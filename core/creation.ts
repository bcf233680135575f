/** Making tensors from host data, constants and seeded random numbers. */
import { getBackend, getBackendName } from './dispatch.js';
import {
  allocHost,
  type DType,
  dtypeOfArray,
  f16ArrayToF32,
  HOST_ARRAY,
  holdsDType,
  isDType,
  isHalf,
  narrowHalf,
  type TypedArray,
} from './dtype.js';
import { DTypeError, ShapeError } from './errors.js';
import { defaultRng, type Rng } from './random.js';
import { assertValidShape, formatShape, sizeOf } from './shape.js';
import { newStorageRef, Tensor } from './tensor.js';

type NestedNumbers = number | readonly NestedNumbers[];

function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedNumbers;
  }
  return shape;
}

function flatten(data: NestedNumbers, out: number[]): void {
  if (Array.isArray(data)) for (const d of data) flatten(d, out);
  else out.push(data as number);
}

/** Host values converted to a dtype's host layout (f16/bf16 as bits; integers truncated and wrapped). */
export function toHost(values: ArrayLike<number>, dtype: DType): TypedArray {
  if (isHalf(dtype)) return narrowHalf(values, dtype);
  const out = allocHost(dtype, values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

/**
 * A tensor from nested arrays or a typed array (copied). dtype defaults to the typed
 * array's own, or f32 for plain numbers; a Uint16Array is taken as half-precision bits:
 * f16 unless dtype says bf16.
 */
export function tensor(data: NestedNumbers | TypedArray, shape?: readonly number[], dtype?: DType): Tensor {
  if (dtype !== undefined && !isDType(dtype)) throw new DTypeError(`tensor(): unknown dtype '${String(dtype)}'`);
  let host: TypedArray;
  let inferred: number[];
  if (ArrayBuffer.isView(data)) {
    const natural = dtypeOfArray(data);
    const target = dtype ?? natural;
    const bits = data instanceof Uint16Array;
    if (target === natural || (bits && isHalf(target))) host = data.slice();
    else host = toHost(bits ? f16ArrayToF32(data) : data, target);
    inferred = [data.length];
  } else {
    const flat: number[] = [];
    flatten(data, flat);
    inferred = inferShape(data);
    host = toHost(flat, dtype ?? 'f32');
  }
  const finalShape = shape ? [...shape] : inferred;
  assertValidShape(finalShape, 'tensor()');
  if (sizeOf(finalShape) !== host.length) {
    throw new ShapeError(
      `tensor(): ${host.length} values do not fill shape ${formatShape(finalShape)} (${sizeOf(finalShape)} elements)`,
    );
  }
  return fromHost(host, finalShape, dtype ?? (ArrayBuffer.isView(data) ? dtypeOfArray(data) : 'f32'));
}

/** Wrap host data already in the dtype's layout (no conversion, one copy into the backend). */
export function fromHost(host: TypedArray, shape: readonly number[], dtype: DType): Tensor {
  if (!holdsDType(host, dtype)) {
    throw new DTypeError(
      `fromHost(): a ${host.constructor.name} does not hold ${dtype} elements (expected a ${HOST_ARRAY[dtype].name})`,
    );
  }
  const storage = getBackend(getBackendName()).upload(host, dtype);
  return new Tensor(newStorageRef(storage), shape, dtype);
}

export function full(shape: readonly number[], value: number, dtype: DType = 'f32'): Tensor {
  assertValidShape(shape, 'full()');
  const host = toHost(new Float64Array(sizeOf(shape)).fill(value), dtype);
  return fromHost(host, shape, dtype);
}

export function zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
  return full(shape, 0, dtype);
}

export function ones(shape: readonly number[], dtype: DType = 'f32'): Tensor {
  return full(shape, 1, dtype);
}

export function scalar(value: number, dtype: DType = 'f32'): Tensor {
  return full([], value, dtype);
}

/** [start, stop) in steps of step. */
export function arange(start: number, stop?: number, step = 1, dtype: DType = 'f32'): Tensor {
  const [lo, hi] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0) throw new ShapeError('arange(): step must not be 0');
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const values = Array.from({ length: n }, (_, i) => lo + i * step);
  return fromHost(toHost(values, dtype), [n], dtype);
}

export interface RandomOptions {
  dtype?: DType;
  /** A generator to draw from; defaults to the global one (see setSeed). */
  rng?: Rng;
}

export function randomNormal(shape: readonly number[], mean = 0, std = 1, opts: RandomOptions = {}): Tensor {
  assertValidShape(shape, 'randomNormal()');
  const rng = opts.rng ?? defaultRng();
  const values = new Float64Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = mean + std * rng.normal();
  const dtype = opts.dtype ?? 'f32';
  return fromHost(toHost(values, dtype), shape, dtype);
}

export function randomUniform(shape: readonly number[], low = 0, high = 1, opts: RandomOptions = {}): Tensor {
  assertValidShape(shape, 'randomUniform()');
  const rng = opts.rng ?? defaultRng();
  const values = new Float64Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = low + (high - low) * rng.uniform();
  const dtype = opts.dtype ?? 'f32';
  return fromHost(toHost(values, dtype), shape, dtype);
}
