/**
 * PyTorch checkpoints (`torch.save` files, usually `.pth`/`.pt`/`.ckpt`) read without running Python:
 *
 * - the zip format (PyTorch ≥ 1.6): `<folder>/data.pkl` is the pickled object and `<folder>/data/<key>` the
 *   raw bytes of each storage; `<folder>/byteorder`, when present, must say `little`;
 * - the legacy format: five pickles in a row (magic number 0x1950a86a20f9469cfc6c, protocol version, system
 *   info, the object, the sorted storage keys), then each storage as an int64 element count and its bytes.
 *
 * The object is read by the restricted unpickler (./pickle.ts) with exactly the globals a state dict needs:
 * `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` / `_rebuild_tensor` / `_rebuild_parameter`,
 * and the typed storage classes (`torch.FloatStorage`, …) as values inside storage ids. Everything else —
 * including every global that could run code — is refused at the opcode that names it. Tensors are checked
 * before anything is allocated: the storage must exist, be as long as its id says, and hold every element the
 * tensor's size, stride and offset reach.
 *
 * Element types become core dtypes: float32 stays, float16 stays (as bits), bfloat16 widens to f32, float64
 * narrows to f32 (the core's f64 is js-only), integers become i32 when every value fits, uint8/bool stay u8.
 * @module
 */
import type { DType, TypedArray } from '../dtype.js';
import { UsageError } from '../errors.js';
import type { ByteSource } from './bytes.js';
import {
  PickleDict,
  PickleError,
  PickleGlobal,
  type PickleSite,
  PickleTruncatedError,
  PickleTuple,
  type PickleValue,
  unpickle,
} from './pickle.js';
import { ZipArchive } from './zip.js';

/** A malformed or unsupported PyTorch checkpoint; the message starts with the file name. */
export class PthError extends UsageError {
  override name = 'PthError';
}

interface StorageType {
  readonly bytes: number;
  readonly torch: string;
}

/** torch.<Name>Storage → element size and torch dtype. */
const STORAGE_TYPES: Readonly<Record<string, StorageType>> = {
  FloatStorage: { bytes: 4, torch: 'float32' },
  HalfStorage: { bytes: 2, torch: 'float16' },
  BFloat16Storage: { bytes: 2, torch: 'bfloat16' },
  DoubleStorage: { bytes: 8, torch: 'float64' },
  LongStorage: { bytes: 8, torch: 'int64' },
  IntStorage: { bytes: 4, torch: 'int32' },
  ShortStorage: { bytes: 2, torch: 'int16' },
  CharStorage: { bytes: 1, torch: 'int8' },
  ByteStorage: { bytes: 1, torch: 'uint8' },
  BoolStorage: { bytes: 1, torch: 'bool' },
};

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** Tensors of more dimensions than this are refused (corruption, not a model). */
const MAX_RANK = 16;
/** The most elements one tensor may have: typed arrays in JS engines stop near here. */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** A storage a tensor points into (by key), with its element type and length from the storage id. */
class StorageRef {
  constructor(
    readonly key: string,
    readonly type: string,
    readonly numel: number,
    /** Legacy view storages: the element offset into the root storage `key`. */
    readonly viewOffset = 0,
  ) {}
}

/** A tensor of the checkpoint, not yet read: where its elements are and how they are laid out. */
export class PthTensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}

  /** The torch dtype name, e.g. float32. */
  get torchDType(): string {
    return STORAGE_TYPES[this.storage.type].torch;
  }
}

type PthValue = PickleValue<StorageRef | PthTensorRef>;

/** One tensor converted to a core dtype (see the module comment). */
export interface PthTensor {
  readonly dtype: DType;
  readonly shape: number[];
  readonly data: TypedArray;
  /** The dtype in the file (torch's name, e.g. float32). */
  readonly fileDType: string;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function intTuple(v: PthValue, what: string, site: PickleSite): number[] {
  const items = v instanceof PickleTuple ? v.items : Array.isArray(v) ? v : null;
  if (!items?.every((x) => isInt(x) && x >= 0)) {
    throw new PickleError(`${site.file}: pickle byte ${site.at}: ${what} must be a tuple of integers ≥ 0`);
  }
  return items as number[];
}

function rebuildTensor(args: PthValue[], site: PickleSite): PthTensorRef {
  const fail = (why: string): never => {
    throw new PickleError(`${site.file}: pickle byte ${site.at}: tensor: ${why}`);
  };
  const [storage, offset, size, stride] = args;
  if (args.length < 4) fail(`_rebuild_tensor needs (storage, offset, size, stride), got ${args.length} arguments`);
  if (!(storage instanceof StorageRef)) fail('the first argument is not a storage');
  if (!isInt(offset) || offset < 0) fail(`storage offset ${String(offset)} is not an integer ≥ 0`);
  const shape = intTuple(size, 'size', site);
  const strides = intTuple(stride, 'stride', site);
  if (shape.length > MAX_RANK) fail(`${shape.length} dimensions (at most ${MAX_RANK})`);
  if (shape.length !== strides.length) fail(`size [${shape}] and stride [${strides}] differ in length`);
  const s = storage as StorageRef;
  let numel = 1;
  let last = offset as number;
  for (let d = 0; d < shape.length; d++) {
    numel *= shape[d];
    last += (shape[d] - 1) * strides[d];
  }
  if (numel > MAX_ELEMENTS) fail(`size [${shape}] has ${numel} elements (at most ${MAX_ELEMENTS})`);
  if (numel > 0 && last >= s.numel) {
    fail(
      `size [${shape}], stride [${strides}] and offset ${offset} reach element ${last}, past its ${s.numel}-element storage "${s.key}"`,
    );
  }
  return new PthTensorRef(s, offset as number, shape, strides);
}

function storageRef(pid: PthValue, site: PickleSite, legacy: boolean): StorageRef {
  const fail = (why: string): never => {
    throw new PickleError(`${site.file}: pickle byte ${site.at}: storage id: ${why}`);
  };
  if (!(pid instanceof PickleTuple) || pid.items[0] !== 'storage') {
    return fail('only tensor storages may be referenced (found another kind of persistent id)');
  }
  const [, type, key, , numel, view] = pid.items;
  if (!(type instanceof PickleGlobal) || type.module !== 'torch' || !Object.hasOwn(STORAGE_TYPES, type.name)) {
    fail('the storage type is not a torch typed storage');
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) fail('the storage key is not a short string');
  if (!isInt(numel) || numel < 0) fail(`element count ${String(numel)} is not an integer ≥ 0`);
  const name = (type as PickleGlobal).name;
  if (legacy && view !== undefined && view !== null) {
    // (view_key, offset, view_size): a window onto the root storage `key`.
    if (!(view instanceof PickleTuple) || !isInt(view.items[1]) || !isInt(view.items[2])) fail('bad view metadata');
    const [, off, size] = (view as PickleTuple<StorageRef | PthTensorRef>).items as [unknown, number, number];
    if (off < 0 || size < 0 || off + size > (numel as number)) fail(`view [${off}, +${size}) outside its storage`);
    return new StorageRef(key as string, name, size, off);
  }
  return new StorageRef(key as string, name, numel as number);
}

function handlers(): Map<string, (args: PthValue[], site: PickleSite) => PthValue> {
  return new Map<string, (args: PthValue[], site: PickleSite) => PthValue>([
    [
      'collections.OrderedDict',
      (args, site) => {
        const d = new PickleDict<StorageRef | PthTensorRef>(true);
        if (args.length === 0) return d;
        const items = args[0];
        if (args.length > 1 || !Array.isArray(items)) {
          throw new PickleError(`${site.file}: pickle byte ${site.at}: OrderedDict takes nothing or a list of pairs`);
        }
        for (const pair of items) {
          const kv = pair instanceof PickleTuple ? pair.items : null;
          if (kv?.length !== 2 || (typeof kv[0] !== 'string' && !isInt(kv[0]))) {
            throw new PickleError(`${site.file}: pickle byte ${site.at}: OrderedDict items must be (key, value) pairs`);
          }
          d.map.set(kv[0] as string | number, kv[1]);
        }
        return d;
      },
    ],
    ['torch._utils._rebuild_tensor_v2', rebuildTensor],
    ['torch._utils._rebuild_tensor', rebuildTensor],
    [
      'torch._utils._rebuild_parameter',
      (args, site) => {
        if (!(args[0] instanceof PthTensorRef)) {
          throw new PickleError(`${site.file}: pickle byte ${site.at}: _rebuild_parameter needs a tensor`);
        }
        return args[0];
      },
    ],
  ]);
}

const STORAGE_GLOBALS = new Set(Object.keys(STORAGE_TYPES).map((n) => `torch.${n}`));

/** A checkpoint's object tree (tensors as {@link PthTensorRef}) and the means to read each tensor. */
export class PthFile {
  constructor(
    readonly source: ByteSource,
    readonly format: 'zip' | 'legacy',
    readonly root: PthValue,
    /** Where each storage's bytes start in the source, and how many bytes it holds. */
    readonly storages: ReadonlyMap<string, { readonly begin: number; readonly bytes: number }>,
  ) {}

  /** One tensor's elements in a core dtype, gathered into row-major order when its strides are not. */
  async read(ref: PthTensorRef, name = 'tensor'): Promise<PthTensor> {
    const file = this.source.name;
    const type = STORAGE_TYPES[ref.storage.type];
    const loc = this.storages.get(ref.storage.key);
    if (!loc) throw new PthError(`${file}: ${name}: storage "${ref.storage.key}" is missing from the file`);
    const rootElements = loc.bytes / type.bytes;
    if (!Number.isInteger(rootElements) || ref.storage.viewOffset + ref.storage.numel > rootElements) {
      throw new PthError(
        `${file}: ${name}: storage "${ref.storage.key}" holds ${loc.bytes} bytes, fewer than its id's ` +
          `${ref.storage.viewOffset + ref.storage.numel} ${ref.torchDType} elements`,
      );
    }
    const numel = ref.shape.reduce((a, b) => a * b, 1);
    const contiguous = isContiguous(ref.shape, ref.stride);
    // Read only the span the tensor reaches.
    let lo = ref.offset;
    let hi = ref.offset + (numel > 0 ? 1 : 0);
    if (numel > 0) for (let d = 0; d < ref.shape.length; d++) hi += (ref.shape[d] - 1) * ref.stride[d];
    if (contiguous) hi = lo + numel;
    lo += ref.storage.viewOffset;
    hi += ref.storage.viewOffset;
    const raw = await this.source.read(loc.begin + lo * type.bytes, (hi - lo) * type.bytes);
    const elements = decodeElements(raw, ref.storage.type, file, name);
    let values = elements;
    if (!contiguous && numel > 0) values = gather(elements, ref.shape, ref.stride);
    return { ...toCore(values, ref.storage.type, file, name), shape: [...ref.shape], fileDType: type.torch };
  }

  /**
   * The state dict: the root when it is a dict whose values are tensors, else the first of
   * `state_dict`, `model`, `params_ema`, `params` inside it that is. Non-tensor entries (counters, nested
   * metadata) are left out; `skipped` names them.
   */
  stateDict(): { tensors: Map<string, PthTensorRef>; skipped: string[] } {
    const root = this.root;
    const asTensors = (v: PthValue) => {
      if (!(v instanceof PickleDict)) return null;
      const tensors = new Map<string, PthTensorRef>();
      const skipped: string[] = [];
      for (const [k, x] of v.map) {
        if (x instanceof PthTensorRef) tensors.set(String(k), x);
        else skipped.push(String(k));
      }
      return tensors.size > 0 ? { tensors, skipped } : null;
    };
    const direct = asTensors(root);
    if (direct) return direct;
    if (root instanceof PickleDict) {
      for (const key of ['state_dict', 'model', 'params_ema', 'params']) {
        const inner = root.map.get(key);
        const found = inner !== undefined ? asTensors(inner) : null;
        if (found) return found;
      }
      const keys = [...root.map.keys()].slice(0, 10).map(String);
      throw new PthError(
        `${this.source.name}: no state dict of tensors found; the top-level dict has keys ${keys.join(', ')}`,
      );
    }
    throw new PthError(`${this.source.name}: the checkpoint holds ${typeof root}, not a dict of tensors`);
  }

  /** Every tensor of the state dict, read and converted. */
  async readStateDict(): Promise<Map<string, PthTensor>> {
    const out = new Map<string, PthTensor>();
    for (const [name, ref] of this.stateDict().tensors) out.set(name, await this.read(ref, `tensor "${name}"`));
    return out;
  }
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

type Elements =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

function decodeElements(raw: Uint8Array, type: string, file: string, name: string): Elements {
  const bytes = raw.byteOffset % 8 === 0 ? raw : new Uint8Array(raw);
  const n = bytes.byteLength / STORAGE_TYPES[type].bytes;
  const b = bytes.buffer as ArrayBuffer;
  switch (type) {
    case 'FloatStorage':
      return new Float32Array(b, bytes.byteOffset, n);
    case 'HalfStorage':
    case 'BFloat16Storage':
      return new Uint16Array(b, bytes.byteOffset, n);
    case 'DoubleStorage':
      return new Float64Array(b, bytes.byteOffset, n);
    case 'LongStorage':
      return new BigInt64Array(b, bytes.byteOffset, n);
    case 'IntStorage':
      return new Int32Array(b, bytes.byteOffset, n);
    case 'ShortStorage':
      return new Int16Array(b, bytes.byteOffset, n);
    case 'CharStorage':
      return new Int8Array(b, bytes.byteOffset, n);
    case 'ByteStorage':
    case 'BoolStorage':
      return new Uint8Array(b, bytes.byteOffset, n);
  }
  throw new PthError(`${file}: ${name}: unknown storage type ${type}`);
}

function gather<A extends Elements>(src: A, shape: readonly number[], stride: readonly number[]): A {
  const numel = shape.reduce((a, b) => a * b, 1);
  const out = new (src.constructor as new (n: number) => A)(numel);
  const index = new Array<number>(shape.length).fill(0);
  let at = 0;
  for (let i = 0; i < numel; i++) {
    (out as unknown as number[])[i] = (src as unknown as number[])[at];
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      at += stride[d];
      if (index[d] < shape[d]) break;
      at -= index[d] * stride[d];
      index[d] = 0;
    }
  }
  return out;
}

function toCore(values: Elements, type: string, file: string, name: string): { dtype: DType; data: TypedArray } {
  switch (type) {
    case 'FloatStorage':
      return { dtype: 'f32', data: values as Float32Array };
    case 'HalfStorage':
      return { dtype: 'f16', data: values as Uint16Array };
    case 'BFloat16Storage': {
      const out = new Float32Array(values.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < out.length; i++) bits[i] = (values as Uint16Array)[i] << 16;
      return { dtype: 'f32', data: out };
    }
    case 'DoubleStorage':
      return { dtype: 'f32', data: Float32Array.from(values as Float64Array) };
    case 'ByteStorage':
      return { dtype: 'u8', data: values as Uint8Array };
    case 'BoolStorage':
      return { dtype: 'u8', data: (values as Uint8Array).map((v) => (v ? 1 : 0)) };
    case 'LongStorage': {
      const out = new Int32Array(values.length);
      for (let i = 0; i < out.length; i++) {
        const v = (values as BigInt64Array)[i];
        if (v < -2147483648n || v > 2147483647n) {
          throw new PthError(`${file}: ${name}: int64 value ${v} at element ${i} does not fit in i32`);
        }
        out[i] = Number(v);
      }
      return { dtype: 'i32', data: out };
    }
    default:
      return { dtype: 'i32', data: Int32Array.from(values as Int32Array) };
  }
}

/** Whether the first bytes are a zip archive or a pickle (the legacy format); null for neither. */
export function pthKind(head: Uint8Array): 'zip' | 'legacy' | null {
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return 'legacy';
  return null;
}

/** Read a checkpoint's object tree; tensors are read on request ({@link PthFile.read}). */
export async function readPth(source: ByteSource): Promise<PthFile> {
  const head = await source.read(0, Math.min(4, source.size));
  const kind = pthKind(head);
  if (kind === 'zip') return readZip(source);
  if (kind === 'legacy') return readLegacy(source);
  throw new PthError(
    `${source.name}: not a PyTorch checkpoint: neither a zip archive (PK\\x03\\x04) nor a pickle (\\x80 + protocol)`,
  );
}

async function readZip(source: ByteSource): Promise<PthFile> {
  const file = source.name;
  const zip = await ZipArchive.open(source);
  const pkl = zip.entries.filter((e) => e.name.endsWith('data.pkl') && e.name.split('/').length === 2);
  if (pkl.length !== 1) {
    throw new PthError(`${file}: expected one <folder>/data.pkl in the archive, found ${pkl.length}`);
  }
  const prefix = pkl[0].name.slice(0, -'data.pkl'.length);
  if (zip.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(await zip.read(`${prefix}byteorder`)).trim();
    if (order !== 'little') throw new PthError(`${file}: byteorder is "${order}"; only little-endian files are read`);
  }
  const refs: StorageRef[] = [];
  const { value } = unpickle<StorageRef | PthTensorRef>(await zip.read(pkl[0].name), {
    file,
    globals: handlers(),
    valueGlobals: STORAGE_GLOBALS,
    persistentLoad: (pid, site) => {
      const ref = storageRef(pid, site, false);
      refs.push(ref);
      return ref;
    },
  });
  const storages = new Map<string, { begin: number; bytes: number }>();
  for (const ref of refs) {
    if (storages.has(ref.key)) continue;
    const name = `${prefix}data/${ref.key}`;
    if (!zip.has(name)) throw new PthError(`${file}: storage "${ref.key}" has no entry ${name} in the archive`);
    const e = zip.entry(name);
    // Locate the data once (after the local header) so tensor reads are plain range reads.
    const local = await source.read(e.headerOffset, 30);
    const lv = new DataView(local.buffer, local.byteOffset, 30);
    const begin = e.headerOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
    const need = ref.numel * STORAGE_TYPES[ref.type].bytes;
    if (e.size < need || begin + e.size > source.size) {
      throw new PthError(
        `${file}: storage "${ref.key}" holds ${e.size} bytes; its id says ${ref.numel} ${STORAGE_TYPES[ref.type].torch} elements (${need} bytes)`,
      );
    }
    storages.set(ref.key, { begin, bytes: e.size });
  }
  return new PthFile(source, 'zip', value, storages);
}

async function readLegacy(source: ByteSource): Promise<PthFile> {
  const file = source.name;
  // The pickles come first and their total length is unknown: read a prefix and grow it until they parse.
  let length = Math.min(source.size, 1 << 20);
  let parsed: { file: PthFile; counts: { key: string; at: number; numel: number }[] };
  for (;;) {
    const bytes = await source.read(0, length);
    try {
      parsed = parseLegacy(source, bytes);
      break;
    } catch (err) {
      if (!(err instanceof PickleTruncatedError) || length === source.size) throw err;
      length = Math.min(source.size, length * 4);
    }
  }
  // Each storage's own element count (the int64 before its bytes) must agree with its id.
  for (const { key, at, numel } of parsed.counts) {
    const raw = await source.read(at, 8);
    const count = new DataView(raw.buffer, raw.byteOffset, 8).getBigInt64(0, true);
    if (count !== BigInt(numel)) {
      throw new PthError(`${file}: storage "${key}" says ${count} elements at byte ${at}; its id says ${numel}`);
    }
  }
  return parsed.file;

  function parseLegacy(
    src: ByteSource,
    bytes: Uint8Array,
  ): { file: PthFile; counts: { key: string; at: number; numel: number }[] } {
    const plain = { file, globals: new Map() };
    const magic = unpickle(bytes, plain);
    if (magic.value !== LEGACY_MAGIC && magic.value !== Number(LEGACY_MAGIC)) {
      throw new PthError(`${file}: the first pickle is not PyTorch's legacy magic number (not a torch.save file)`);
    }
    const version = unpickle(bytes, plain, magic.end);
    if (version.value !== 1001)
      throw new PthError(`${file}: legacy protocol version ${String(version.value)} (expected 1001)`);
    const sysInfo = unpickle(bytes, plain, version.end);
    if (sysInfo.value instanceof PickleDict && sysInfo.value.map.get('little_endian') === false) {
      throw new PthError(`${file}: saved on a big-endian machine; only little-endian files are read`);
    }
    const refs = new Map<string, StorageRef>();
    const main = unpickle<StorageRef | PthTensorRef>(
      bytes,
      {
        file,
        globals: handlers(),
        valueGlobals: STORAGE_GLOBALS,
        persistentLoad: (pid, site) => {
          const ref = storageRef(pid, site, true);
          const known = refs.get(ref.key);
          if (known && known.type !== ref.type) {
            throw new PickleError(`${file}: pickle byte ${site.at}: storage "${ref.key}" is used with two types`);
          }
          if (!known) refs.set(ref.key, rootOf(pid as PickleTuple<StorageRef | PthTensorRef>, ref));
          return ref;
        },
      },
      sysInfo.end,
    );
    const keys = unpickle(bytes, plain, main.end);
    if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
      throw new PthError(`${file}: the storage key list after the object is not a list of strings`);
    }
    // Each storage: int64 element count, then its bytes, in the key list's order.
    const storages = new Map<string, { begin: number; bytes: number }>();
    const counts: { key: string; at: number; numel: number }[] = [];
    let at = keys.end;
    for (const key of keys.value as string[]) {
      const ref = refs.get(key);
      if (!ref) throw new PthError(`${file}: storage "${key}" is listed but no tensor uses it`);
      const elementBytes = STORAGE_TYPES[ref.type].bytes;
      if (storages.has(key)) throw new PthError(`${file}: storage "${key}" is listed twice`);
      counts.push({ key, at, numel: ref.numel });
      const size = ref.numel * elementBytes;
      if (at + 8 + size > src.size) {
        throw new PthError(
          `${file}: storage "${key}" ([${at + 8}, +${size})) runs past the end of the file (${src.size} bytes; truncated?)`,
        );
      }
      storages.set(key, { begin: at + 8, bytes: size });
      at += 8 + size;
    }
    for (const key of refs.keys()) {
      if (!storages.has(key)) throw new PthError(`${file}: storage "${key}" is used but missing from the key list`);
    }
    return { file: new PthFile(src, 'legacy', main.value, storages), counts };
  }
}

/** The root storage a legacy storage id names (views share their root's key and count). */
function rootOf(pid: PickleTuple<StorageRef | PthTensorRef>, ref: StorageRef): StorageRef {
  return new StorageRef(ref.key, ref.type, pid.items[4] as number);
}
