/**
 * PyTorch checkpoints: the two fixtures PyTorch itself wrote (../shared/models/fast-neural-style-pth: candy in
 * the zip format, mosaic in the legacy format with InstanceNorm running stats) load into the fast-style network
 * and give the same output as the ONNX copies of the same weights (the shared NOTICE: converted tensor by
 * tensor, verified in PyTorch); and the restricted unpickler refuses every malicious or malformed stream in
 * the table below with a UsageError that names the file, before anything is called or allocated.
 * The hostile pickles are assembled opcode by opcode (CPython's Lib/pickletools.py documents each opcode).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import { bytesSource } from '../../../core/io/bytes.js';
import { parseOnnx } from '../../../core/io/onnx.js';
import { concatChunks } from '../../../core/io/onnx-wire.js';
import { PickleError, unpickle } from '../../../core/io/pickle.js';
import { PthError, readPth } from '../../../core/io/pth.js';
import { ZipError } from '../../../core/io/zip.js';
import * as T from '../../../index.js';
import { TransformerNet } from '../../../models/fast-style/transformer-net.js';
import { modelsDir } from '../../helpers/model-files.js';

const pthDir = join(modelsDir, 'fast-neural-style-pth');
const backend = (await T.availableBackendNames()).includes('native') ? 'native' : 'js';

// ---------------------------------------------------------------------------------------------------------
// A pickle assembler (protocol 2 unless PROTO says otherwise) and the two container formats.

const enc = new TextEncoder();
class P {
  readonly bytes: number[] = [];
  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  text(s: string): this {
    return this.op(...enc.encode(s));
  }
  u32(n: number): this {
    return this.op(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255);
  }
  proto(v = 2): this {
    return this.op(0x80, v);
  }
  global(module: string, name: string): this {
    return this.op(0x63).text(`${module}\n${name}\n`);
  }
  str(s: string): this {
    const b = enc.encode(s);
    return this.op(0x58)
      .u32(b.length)
      .op(...b);
  }
  int(n: number): this {
    return n < 256 ? this.op(0x4b, n) : this.op(0x4a).u32(n);
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  reduce(): this {
    return this.op(0x52);
  }
  stop(): Uint8Array {
    return Uint8Array.from([...this.bytes, 0x2e]);
  }
  /** ('storage', torch.<type>, key, 'cpu', numel) as a persistent id. */
  storage(type: string, key: string, numel: number): this {
    return this.mark().str('storage').global('torch', type).str(key).str('cpu').int(numel).tuple().op(0x51);
  }
  /** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()). */
  tensor(type: string, key: string, numel: number, offset: number, size: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.storage(type, key, numel).int(offset);
    this.mark();
    for (const s of size) this.int(s);
    this.tuple().mark();
    for (const s of stride) this.int(s);
    this.tuple().op(0x89).global('collections', 'OrderedDict').op(0x29).reduce().tuple();
    return this.reduce();
  }
}

/** The legacy format: magic, protocol version, system info, the object, the storage keys, then the storages. */
function legacyFile(
  main: Uint8Array,
  storages: readonly [key: string, bytes: Uint8Array, numel: number][],
): Uint8Array {
  const magic = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e);
  const version = new P().proto().op(0x4d, 0xe9, 0x03).stop();
  const sysInfo = new P().proto().op(0x7d).stop();
  const keys = new P().proto().op(0x5d).mark();
  for (const [k] of storages) keys.str(k);
  const parts = [magic, version, sysInfo, main, keys.op(0x65).stop()];
  for (const [, bytes, numel] of storages) {
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigInt64(0, BigInt(numel), true);
    parts.push(count, bytes);
  }
  return concatChunks(parts);
}

/** A stored (uncompressed) zip archive, with an optional compression method to lie about. */
function zipFile(entries: readonly [name: string, data: Uint8Array][], method = 0): Uint8Array {
  const locals: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = enc.encode(name);
    const local = new Uint8Array(30 + n.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(8, method, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, n.length, true);
    local.set(n, 30);
    const c = new Uint8Array(46 + n.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, method, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, n.length, true);
    cv.setUint32(42, offset, true);
    c.set(n, 46);
    locals.push(local, data);
    central.push(c);
    offset += local.length + data.length;
  }
  const dir = concatChunks(central);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, dir.length, true);
  ev.setUint32(16, offset, true);
  return concatChunks([...locals, dir, end]);
}

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

/** Reads `bytes` as a checkpoint named `file` and returns the error it must fail with. */
async function failure(file: string, bytes: Uint8Array): Promise<Error> {
  try {
    const pth = await readPth(bytesSource(file, bytes));
    await pth.readStateDict();
  } catch (err) {
    return err as Error;
  }
  throw new Error(`${file} was accepted`);
}

describe('.pth reader: the fixtures PyTorch wrote', () => {
  it('reads candy (zip) and mosaic (legacy, with running stats) with the documented key sets', async () => {
    const candy = await readPth(bytesSource('candy.pth', readFileSync(join(pthDir, 'candy.pth'))));
    const mosaic = await readPth(bytesSource('mosaic.pth', readFileSync(join(pthDir, 'mosaic.pth'))));
    expect(candy.format).toBe('zip');
    expect(mosaic.format).toBe('legacy');
    const c = await candy.readStateDict();
    const m = await mosaic.readStateDict();
    expect(c.size).toBe(62);
    expect(m.size).toBe(92);
    expect([...m.keys()].filter((k) => k.endsWith('running_mean') || k.endsWith('running_var'))).toHaveLength(30);
    expect(c.get('conv1.conv2d.weight')?.shape).toEqual([32, 3, 9, 9]);
    expect(c.get('conv1.conv2d.weight')?.fileDType).toBe('float32');
    expect(m.get('deconv3.conv2d.weight')?.shape).toEqual([3, 32, 9, 9]);
    // The running stats old files carry are zeros and ones (shared NOTICE).
    expect(Array.from(m.get('in1.running_var')?.data as Float32Array).every((v) => v === 1)).toBe(true);
  });

  it.each(['candy', 'mosaic'])(`%s.pth stylises exactly as the ONNX copy on ${backend}`, async (style) => {
    await T.setBackend(backend);
    const pth = await readPth(bytesSource(`${style}.pth`, readFileSync(join(pthDir, `${style}.pth`))));
    const fromPth = TransformerNet.fromStateDict(`${style}.pth`, await pth.readStateDict());
    const onnxFile = join(modelsDir, 'fast-neural-style', `${style}.onnx`);
    const fromOnnx = TransformerNet.fromOnnx(parseOnnx(onnxFile, readFileSync(onnxFile)));
    const [h, w] = [28, 20];
    const x = T.tensor(
      Float32Array.from({ length: 3 * h * w }, (_, i) => 128 + 90 * Math.sin(i * 0.11) * Math.cos(i * 0.023)),
      [1, 3, h, w],
    );
    const a = await fromPth.forward(x).data();
    const b = await fromOnnx.forward(x).data();
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    // The same float32 weights in the same network: bit-identical on one backend.
    expect(maxDiff).toBe(0);
    T.dispose(x);
    fromPth.dispose();
    fromOnnx.dispose();
    await T.setBackend('js');
  });

  it('refuses a state dict that is not a fast-style network, naming the file and the key', async () => {
    const main = new P().proto().op(0x7d).str('fc.weight').tensor('FloatStorage', '0', 2, 0, [2], [1]).op(0x73).stop();
    const pth = await readPth(bytesSource('other.pth', legacyFile(main, [['0', f32(1, 2), 2]])));
    expect(() => TransformerNet.fromStateDict('other.pth', new Map())).toThrow(
      /other\.pth: no tensor "conv1\.conv2d\.weight"/,
    );
    const sd = await pth.readStateDict();
    expect(() => TransformerNet.fromStateDict('other.pth', sd)).toThrow(/other\.pth/);
  });
});

describe('.pth reader: tensors', () => {
  it('rebuilds strided views, half and int64 storages, and shared storages', async () => {
    // a: a 2×3 view with strides [1, 2] (a transposed 3×2); b: float16; c: int64; d: a slice of a's storage.
    const main = new P().proto().op(0x7d).mark();
    main.str('a').tensor('FloatStorage', 'x', 6, 0, [2, 3], [1, 2]);
    main.str('b').tensor('HalfStorage', 'h', 2, 0, [2], [1]);
    main.str('c').tensor('LongStorage', 'l', 2, 0, [2], [1]);
    main.str('d').tensor('FloatStorage', 'x', 6, 4, [2], [1]);
    const half = new Uint8Array(Uint16Array.from([0x3c00, 0xc000]).buffer); // 1, -2
    const long = new Uint8Array(BigInt64Array.from([7n, -3n]).buffer);
    const bytes = legacyFile(main.op(0x75).stop(), [
      ['x', f32(0, 1, 2, 3, 4, 5), 6],
      ['h', half, 2],
      ['l', long, 2],
    ]);
    const sd = await (await readPth(bytesSource('views.pth', bytes))).readStateDict();
    expect(Array.from(sd.get('a')?.data as Float32Array)).toEqual([0, 2, 4, 1, 3, 5]);
    expect(sd.get('b')?.dtype).toBe('f16');
    expect(Array.from(T.f16ArrayToF32(sd.get('b')?.data as Uint16Array))).toEqual([1, -2]);
    expect(sd.get('c')?.dtype).toBe('i32');
    expect(Array.from(sd.get('c')?.data as Int32Array)).toEqual([7, -3]);
    expect(Array.from(sd.get('d')?.data as Float32Array)).toEqual([4, 5]);
  });

  it('refuses an int64 that does not fit in i32, naming the tensor', async () => {
    const main = new P().proto().op(0x7d).str('n').tensor('LongStorage', 'l', 1, 0, [1], [1]).op(0x73).stop();
    const long = new Uint8Array(BigInt64Array.from([1n << 40n]).buffer);
    const err = await failure('big.pth', legacyFile(main, [['l', long, 1]]));
    expect(err).toBeInstanceOf(PthError);
    expect(err.message).toMatch(/^big\.pth: tensor "n": int64 value 1099511627776/);
  });
});

describe('.pth reader: hostile and broken files', () => {
  const tensorPickle = (size: number[], stride: number[], numel: number, offset = 0) =>
    new P().proto().op(0x7d).str('w').tensor('FloatStorage', '0', numel, offset, size, stride).op(0x73).stop();
  const legacy = (main: Uint8Array) => legacyFile(main, [['0', f32(1, 2, 3, 4), 4]]);
  const zipped = (pkl: Uint8Array, extra: [string, Uint8Array][] = []) =>
    zipFile([['archive/data.pkl', pkl], ['archive/data/0', f32(1, 2, 3, 4)], ...extra]);

  const cases: [name: string, bytes: () => Uint8Array, pattern: RegExp][] = [
    [
      'os.system through GLOBAL + REDUCE',
      () => legacy(new P().proto().global('os', 'system').str('ls').op(0x85).reduce().stop()),
      /refuses the global os\.system/,
    ],
    [
      'posix.system',
      () => legacy(new P().proto().global('posix', 'system').str('id').op(0x85).reduce().stop()),
      /refuses the global posix\.system/,
    ],
    [
      'builtins.eval through STACK_GLOBAL (protocol 4)',
      () => legacy(new P().proto(4).op(0x8c, 8).text('builtins').op(0x8c, 4).text('eval').op(0x93).stop()),
      /refuses the global builtins\.eval/,
    ],
    [
      'builtins.getattr',
      () =>
        legacy(
          new P()
            .proto()
            .global('builtins', 'getattr')
            .global('collections', 'OrderedDict')
            .str('__init__')
            .op(0x86)
            .reduce()
            .stop(),
        ),
      /refuses the global builtins\.getattr/,
    ],
    [
      '__builtin__.exec (Python 2 spelling)',
      () => legacy(new P().proto().global('__builtin__', 'exec').stop()),
      /refuses the global __builtin__\.exec/,
    ],
    [
      'torch.load inside the pickle',
      () => zipped(new P().proto().global('torch.storage', '_load_from_bytes').stop()),
      /refuses the global torch\.storage\._load_from_bytes/,
    ],
    [
      'calling what a call returned (nested REDUCE)',
      () => legacy(new P().proto().global('collections', 'OrderedDict').op(0x29).reduce().op(0x29).reduce().stop()),
      /REDUCE calls an OrderedDict; only allowed globals may be called/,
    ],
    [
      'calling a storage type',
      () => legacy(new P().proto().global('torch', 'FloatStorage').op(0x29).reduce().stop()),
      /torch\.FloatStorage, which may not be called/,
    ],
    [
      'REDUCE with arguments that are not a tuple',
      () => legacy(new P().proto().global('collections', 'OrderedDict').op(0x5d).reduce().stop()),
      /REDUCE arguments are a list/,
    ],
    [
      '_rebuild_tensor_v2 on something that is not a storage',
      () =>
        legacy(
          new P()
            .proto()
            .global('torch._utils', '_rebuild_tensor_v2')
            .mark()
            .str('x')
            .int(0)
            .op(0x29)
            .op(0x29)
            .tuple()
            .reduce()
            .stop(),
        ),
      /the first argument is not a storage/,
    ],
    [
      'INST (old-style object creation)',
      () => legacy(new P().mark().op(0x69).text('os\nsystem\n').stop()),
      /opcode INST builds objects/,
    ],
    [
      'NEWOBJ',
      () => legacy(new P().proto().global('collections', 'OrderedDict').op(0x29, 0x81).stop()),
      /opcode NEWOBJ/,
    ],
    ['an extension-registry code', () => legacy(new P().proto().op(0x82, 1).stop()), /opcode EXT1/],
    ['BUILD on a list', () => legacy(new P().proto().op(0x5d, 0x7d, 0x62).stop()), /BUILD on a list/],
    [
      'a persistent id that is not a storage',
      () => zipped(new P().proto().str('module').op(0x85, 0x51).stop()),
      /only tensor storages may be referenced/,
    ],
    [
      'a string length past the end (a 4 GB allocation)',
      () => legacy(new P().proto().op(0x58).u32(0xfffffff0).stop()),
      /BINUNICODE of 4294967280 bytes runs past the end/,
    ],
    [
      'an oversized integer',
      () =>
        legacy(
          new P()
            .proto()
            .op(0x8b)
            .u32(1 << 30)
            .stop(),
        ),
      /LONG4 of 1073741824 bytes/,
    ],
    [
      'a tensor of 10^15 elements',
      () => legacy(tensorPickle([100000, 100000, 100000], [1, 1, 1], 4)),
      /elements \(at most 2147483647\)/,
    ],
    [
      'a tensor reaching past its storage',
      () => legacy(tensorPickle([2, 3], [3, 1], 4)),
      /reach element 5, past its 4-element storage/,
    ],
    [
      'a storage id longer than the file (legacy)',
      () => legacy(tensorPickle([4], [1], 400)),
      /storage "0" \(\[\d+, \+1600\)\) runs past the end of the file/,
    ],
    [
      'a storage count that disagrees with its id (legacy)',
      () => legacyFile(tensorPickle([3], [1], 3), [['0', f32(1, 2, 3, 4), 4]]),
      /storage "0" says 4 elements at byte \d+; its id says 3/,
    ],
    [
      'a storage no tensor uses (legacy)',
      () => legacy(new P().proto().op(0x7d).stop()),
      /storage "0" is listed but no tensor uses it/,
    ],
    [
      'a storage id longer than its data (zip)',
      () => zipped(tensorPickle([4], [1], 400)),
      /storage "0" holds 16 bytes; its id says 400 float32 elements/,
    ],
    [
      'a storage missing from the archive',
      () => zipFile([['archive/data.pkl', tensorPickle([4], [1], 4)]]),
      /storage "0" has no entry archive\/data\/0/,
    ],
    [
      'a big-endian archive',
      () => zipped(tensorPickle([4], [1], 4), [['archive/byteorder', enc.encode('big')]]),
      /byteorder is "big"/,
    ],
    [
      'a compressed archive',
      () => zipFile([['archive/data.pkl', tensorPickle([4], [1], 4)]], 8),
      /is compressed \(method 8\)/,
    ],
    ['a memo entry never stored', () => legacy(new P().proto().op(0x68, 5).stop()), /memo entry 5 was never stored/],
    ['a stack underflow', () => legacy(new P().proto().reduce().stop()), /REDUCE needs a value but the stack is empty/],
    ['an unknown opcode', () => legacy(new P().proto().op(0xff).stop()), /unknown opcode 0xff/],
    [
      'a list, not a dict of tensors',
      () => legacyFile(new P().proto().op(0x5d, 0x71, 0x00, 0x68, 0x00, 0x61).stop(), []),
      /holds object, not a dict of tensors/,
    ],
    // magic (15 bytes), protocol version (6), system info (4), then a pickle without STOP and nothing after.
    [
      'no STOP (truncated pickle)',
      () => legacyFile(Uint8Array.of(0x80, 0x02, 0x7d), []).subarray(0, 28),
      /truncated file\?/,
    ],
    ['neither zip nor pickle', () => enc.encode('<html>not found</html>'), /neither a zip archive/],
  ];

  it.each(cases)('refuses %s', async (_name, make, pattern) => {
    const file = 'hostile.pth';
    const err = await failure(file, make());
    expect(err).toBeInstanceOf(T.UsageError);
    expect([PickleError, PthError, ZipError].some((E) => err instanceof E)).toBe(true);
    expect(err.message.startsWith(`${file}: `)).toBe(true);
    expect(err.message).toMatch(pattern);
  });

  it('fails cleanly on the fixtures cut short at any of 40 points', async () => {
    for (const name of ['candy.pth', 'mosaic.pth']) {
      const full = readFileSync(join(pthDir, name));
      for (let k = 1; k <= 20; k++) {
        const cut = Math.floor((full.length * k) / 21);
        const err = await failure(name, full.subarray(0, cut));
        expect(err).toBeInstanceOf(T.UsageError);
        expect(err.message.startsWith(`${name}: `)).toBe(true);
      }
    }
  });

  it('survives 200 000 nested lists and a list that contains itself without recursing', () => {
    const deep = new P().proto();
    for (let i = 0; i < 200_000; i++) deep.op(0x5d);
    for (let i = 0; i < 199_999; i++) deep.op(0x61);
    const { value } = unpickle(deep.stop(), { file: 'deep.pkl', globals: new Map() });
    expect(Array.isArray(value)).toBe(true);
    const cyclic = unpickle(new P().proto().op(0x5d, 0x71, 0x00, 0x68, 0x00, 0x61).stop(), {
      file: 'c.pkl',
      globals: new Map(),
    });
    const list = cyclic.value as unknown[];
    expect(list[0]).toBe(list);
  });
});
