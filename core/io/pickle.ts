/**
 * A restricted unpickler (Python's pickle format, protocols 0–5, https://docs.python.org/3/library/pickle.html
 * and CPython's Lib/pickletools.py for the opcodes). It builds plain data only — None, booleans, integers,
 * floats, strings, bytes, lists, tuples and dicts — and hands every other construct to the caller:
 *
 * - GLOBAL/STACK_GLOBAL may name only the globals the caller allows; any other (os.system, builtins.eval,
 *   builtins.getattr, …) stops the load at that opcode, before anything could be called;
 * - REDUCE calls only an allowed global's handler, which the caller writes to build its own value
 *   (a tensor, an OrderedDict); a value built by REDUCE is never itself callable, so nested REDUCE tricks
 *   (calling what a call returned) fail;
 * - BUILD (setting an object's state) is allowed only on dicts, whose state the caller may keep as metadata;
 * - persistent ids (how torch refers to tensor storages) go to the caller's `persistentLoad`;
 * - object-creating opcodes (INST, OBJ, NEWOBJ, NEWOBJ_EX, extension registry codes, out-of-band buffers)
 *   and sets are refused.
 *
 * Malformed input fails with a {@link PickleError} naming the file and the byte: a truncated stream, a length
 * running past the end, a memo reference that was never stored, a stack underflow, an oversized integer.
 * Nothing is allocated from a length field before that length has been checked against the bytes left.
 * @module
 */
import { UsageError } from '../errors.js';

/** A malformed or disallowed pickle; the message starts with the file name and gives the byte offset. */
export class PickleError extends UsageError {
  override name = 'PickleError';
}

/** Raised (as a PickleError subclass) when the stream ends early; callers reading progressively retry with more bytes. */
export class PickleTruncatedError extends PickleError {
  override name = 'PickleTruncatedError';
}

/** A Python tuple (a JS array is a Python list). */
export class PickleTuple<E = never> {
  constructor(readonly items: PickleValue<E>[]) {}
}

/** Keys a Python dict may have here (hashable primitives). */
export type PickleKey = string | number | bigint | boolean | null;

/** A Python dict or collections.OrderedDict (insertion-ordered either way). */
export class PickleDict<E = never> {
  readonly map = new Map<PickleKey, PickleValue<E>>();
  /** What BUILD set on it (an OrderedDict's `_metadata`, for state dicts), if anything. */
  state: PickleValue<E> | undefined;
  constructor(readonly ordered: boolean) {}
}

/** A reference to an allowed global (`module.name`); only REDUCE may use it, to call the caller's handler. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** What an unpickle produces: plain data plus the caller's own values (E) from handlers and persistent ids. */
export type PickleValue<E = never> =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue<E>[]
  | PickleTuple<E>
  | PickleDict<E>
  | PickleGlobal
  | E;

/** Where a handler is called from, so its errors can name the place. */
export interface PickleSite {
  readonly file: string;
  readonly at: number;
}

export interface UnpickleOptions<E> {
  /** Names the file in error messages. */
  readonly file: string;
  /**
   * Allowed globals, by `module.name`: the handler REDUCE calls with the argument tuple's items. A handler
   * throws (a PickleError naming the site) for arguments it does not accept.
   */
  readonly globals: ReadonlyMap<string, (args: PickleValue<E>[], site: PickleSite) => PickleValue<E>>;
  /** Globals that may appear only as values (a storage type inside a persistent id), never be called. */
  readonly valueGlobals?: ReadonlySet<string>;
  /** Resolves a persistent id (BINPERSID/PERSID); absent: persistent ids are refused. */
  readonly persistentLoad?: (pid: PickleValue<E>, site: PickleSite) => PickleValue<E>;
}

/** Integers wider than this many bytes are refused: state dicts hold sizes and counts, not bignums. */
const MAX_LONG_BYTES = 64;
/** Text-protocol lines (protocol 0 opcodes) longer than this are refused. */
const MAX_LINE = 4096;

const MARK = Symbol('mark');
type StackItem<E> = PickleValue<E> | typeof MARK;

const OPCODE_NAMES: Record<number, string> = {
  105: 'INST',
  111: 'OBJ',
  129: 'NEWOBJ',
  146: 'NEWOBJ_EX',
  130: 'EXT1',
  131: 'EXT2',
  132: 'EXT4',
  150: 'BYTEARRAY8',
  151: 'NEXT_BUFFER',
  152: 'READONLY_BUFFER',
  143: 'EMPTY_SET',
  144: 'ADDITEMS',
  145: 'FROZENSET',
};

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

function describe(v: unknown): string {
  if (v === MARK) return 'a MARK';
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof PickleTuple) return 'a tuple';
  if (v instanceof PickleDict) return v.ordered ? 'an OrderedDict' : 'a dict';
  if (v instanceof PickleGlobal) return `the global ${v.qualifiedName}`;
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function isKey(v: unknown): v is PickleKey {
  return v === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof v);
}

/**
 * Unpickle one pickle starting at `start` of `bytes`; returns the value and the offset just past its STOP.
 * @throws PickleError (PickleTruncatedError when the bytes end before STOP)
 */
export function unpickle<E>(
  bytes: Uint8Array,
  options: UnpickleOptions<E>,
  start = 0,
): { value: PickleValue<E>; end: number } {
  const { file } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem<E>[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue<E>>();
  let pos = start;
  let opAt = start;

  const fail = (why: string): never => {
    throw new PickleError(`${file}: pickle byte ${opAt}: ${why}`);
  };
  const need = (n: number, what: string): void => {
    if (n < 0 || pos + n > bytes.length) {
      throw new PickleTruncatedError(
        `${file}: pickle byte ${opAt}: ${what} needs ${n} bytes but the data ends at byte ${bytes.length} (truncated file?)`,
      );
    }
  };
  const take = (n: number, what: string): Uint8Array => {
    need(n, what);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const line = (what: string): string => {
    const limit = Math.min(bytes.length, pos + MAX_LINE);
    for (let i = pos; i < limit; i++) {
      if (bytes[i] === 0x0a) {
        const text = latin1.decode(bytes.subarray(pos, i));
        pos = i + 1;
        return text;
      }
    }
    if (limit === bytes.length) need(limit - pos + 1, what);
    return fail(`${what}: no newline within ${MAX_LINE} bytes`);
  };
  const pop = (what: string): PickleValue<E> => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) {
      fail(`${what} needs a value but the stack is empty`);
    }
    return stack.pop() as PickleValue<E>;
  };
  const top = (what: string): PickleValue<E> => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) {
      fail(`${what} needs a value but the stack is empty`);
    }
    return stack[stack.length - 1] as PickleValue<E>;
  };
  const popMark = (what: string): PickleValue<E>[] => {
    const m = marks.pop();
    if (m === undefined) return fail(`${what} without a MARK`);
    return stack.splice(m) as PickleValue<E>[];
  };
  const text = (raw: Uint8Array, what: string): string => {
    try {
      return utf8.decode(raw);
    } catch {
      return fail(`${what}: invalid UTF-8`);
    }
  };
  const sizeOf = (n: number | bigint, what: string): number => {
    const v = Number(n);
    if (v > bytes.length - pos) {
      throw new PickleTruncatedError(
        `${file}: pickle byte ${opAt}: ${what} of ${n} bytes runs past the end of the data (${bytes.length - pos} bytes left)`,
      );
    }
    return v;
  };
  const longFrom = (raw: Uint8Array): number | bigint => {
    if (raw.length === 0) return 0;
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]);
    if (raw[raw.length - 1] & 0x80) v -= 1n << BigInt(8 * raw.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const intLine = (s: string, what: string): number | bigint => {
    const t = s.endsWith('L') ? s.slice(0, -1) : s;
    if (!/^[+-]?\d+$/.test(t) || t.length > 3 * MAX_LONG_BYTES) fail(`${what}: "${s}" is not an integer`);
    const v = BigInt(t);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const memoGet = (i: number): PickleValue<E> => {
    if (!memo.has(i)) fail(`memo entry ${i} was never stored`);
    return memo.get(i) as PickleValue<E>;
  };
  const memoPut = (i: number, what: string): void => {
    if (!Number.isSafeInteger(i) || i < 0) fail(`${what}: bad memo index ${i}`);
    memo.set(i, top(what));
  };
  const global = (module: string, name: string): PickleGlobal => {
    const q = `${module}.${name}`;
    if (!options.globals.has(q) && !options.valueGlobals?.has(q)) {
      fail(
        `refuses the global ${q}: only tensors and plain containers are loaded, and this pickle asks for ` +
          'something else (it could run code). Load checkpoints you trust only, or ask for a safetensors copy',
      );
    }
    return new PickleGlobal(module, name);
  };
  const setItem = (d: PickleValue<E>, k: PickleValue<E>, v: PickleValue<E>, what: string): void => {
    if (!(d instanceof PickleDict)) fail(`${what} on ${describe(d)}, not a dict`);
    if (!isKey(k)) fail(`${what}: a dict key must be a string or number, got ${describe(k)}`);
    (d as PickleDict<E>).map.set(k as PickleKey, v);
  };
  const site = (): PickleSite => ({ file, at: opAt });

  for (;;) {
    opAt = pos;
    need(1, 'an opcode');
    const op = bytes[pos++];
    switch (op) {
      case 0x80: // PROTO
        if (take(1, 'PROTO')[0] > 5) fail(`protocol ${bytes[pos - 1]} is newer than 5`);
        break;
      case 0x95: {
        // FRAME: a length prefix for the next opcodes; they are read as usual.
        const raw = take(8, 'FRAME');
        const n = new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0, true);
        sizeOf(n, 'FRAME');
        break;
      }
      case 0x2e: // STOP
        if (marks.length > 0) fail('STOP inside an unclosed MARK');
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack (expected 1)`);
        return { value: stack[0] as PickleValue<E>, end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length > 0 && stack.length === marks[marks.length - 1]) marks.pop();
        else pop('POP');
        break;
      case 0x31: // POP_MARK
        popMark('POP_MARK');
        break;
      case 0x32: // DUP
        stack.push(top('DUP'));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4, 'BININT');
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(take(1, 'BININT1')[0]);
        break;
      case 0x4d: // BININT2
        need(2, 'BININT2');
        stack.push(view.getUint16(pos, true));
        pos += 2;
        break;
      case 0x8a: {
        // LONG1
        const n = take(1, 'LONG1')[0];
        if (n > MAX_LONG_BYTES) fail(`LONG1 of ${n} bytes (at most ${MAX_LONG_BYTES})`);
        stack.push(longFrom(take(n, 'LONG1')));
        break;
      }
      case 0x8b: {
        // LONG4
        need(4, 'LONG4');
        const n = view.getInt32(pos, true);
        pos += 4;
        if (n < 0 || n > MAX_LONG_BYTES) fail(`LONG4 of ${n} bytes (at most ${MAX_LONG_BYTES})`);
        stack.push(longFrom(take(n, 'LONG4')));
        break;
      }
      case 0x49: {
        // INT (text); "00"/"01" are protocol 0's False/True
        const s = line('INT');
        stack.push(s === '00' ? false : s === '01' ? true : intLine(s, 'INT'));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(intLine(line('LONG'), 'LONG'));
        break;
      case 0x46: {
        // FLOAT (text)
        const s = line('FLOAT');
        const v = Number(s);
        if (s.trim() === '' || (Number.isNaN(v) && !/^[+-]?nan$/i.test(s))) fail(`FLOAT: "${s}" is not a number`);
        stack.push(v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8, 'BINFLOAT');
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: {
        // BINUNICODE
        need(4, 'BINUNICODE');
        const n = sizeOf(view.getUint32(pos, true), 'BINUNICODE');
        pos += 4;
        stack.push(text(take(n, 'BINUNICODE'), 'BINUNICODE'));
        break;
      }
      case 0x8c: {
        // SHORT_BINUNICODE
        const n = take(1, 'SHORT_BINUNICODE')[0];
        stack.push(text(take(n, 'SHORT_BINUNICODE'), 'SHORT_BINUNICODE'));
        break;
      }
      case 0x8d: {
        // BINUNICODE8
        need(8, 'BINUNICODE8');
        const n = sizeOf(view.getBigUint64(pos, true), 'BINUNICODE8');
        pos += 8;
        stack.push(text(take(n, 'BINUNICODE8'), 'BINUNICODE8'));
        break;
      }
      case 0x56: {
        // UNICODE (raw-unicode-escape text line)
        const s = line('UNICODE').replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) =>
          String.fromCharCode(parseInt(h, 16)),
        );
        stack.push(s);
        break;
      }
      case 0x54: {
        // BINSTRING (a Python 2 str; read as latin-1 text)
        need(4, 'BINSTRING');
        const n = view.getInt32(pos, true);
        pos += 4;
        if (n < 0) fail(`BINSTRING with negative length ${n}`);
        stack.push(latin1.decode(take(sizeOf(n, 'BINSTRING'), 'BINSTRING')));
        break;
      }
      case 0x55: {
        // SHORT_BINSTRING
        const n = take(1, 'SHORT_BINSTRING')[0];
        stack.push(latin1.decode(take(n, 'SHORT_BINSTRING')));
        break;
      }
      case 0x53: {
        // STRING (a quoted Python 2 str literal); only plain quoted text without escapes is accepted
        const s = line('STRING');
        const m = /^(['"])([^\\'"]*)\1$/.exec(s);
        if (!m) fail(`STRING: ${JSON.stringify(s.slice(0, 40))} is not a simple quoted string`);
        stack.push((m as RegExpExecArray)[2]);
        break;
      }
      case 0x42: {
        // BINBYTES
        need(4, 'BINBYTES');
        const n = sizeOf(view.getUint32(pos, true), 'BINBYTES');
        pos += 4;
        stack.push(new Uint8Array(take(n, 'BINBYTES')));
        break;
      }
      case 0x43: {
        // SHORT_BINBYTES
        const n = take(1, 'SHORT_BINBYTES')[0];
        stack.push(new Uint8Array(take(n, 'SHORT_BINBYTES')));
        break;
      }
      case 0x8e: {
        // BINBYTES8
        need(8, 'BINBYTES8');
        const n = sizeOf(view.getBigUint64(pos, true), 'BINBYTES8');
        pos += 8;
        stack.push(new Uint8Array(take(n, 'BINBYTES8')));
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push(new PickleTuple<E>([]));
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = op - 0x84;
        const items: PickleValue<E>[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop(`TUPLE${n}`));
        stack.push(new PickleTuple<E>(items));
        break;
      }
      case 0x74: // TUPLE
        stack.push(new PickleTuple<E>(popMark('TUPLE')));
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark('LIST'));
        break;
      case 0x61: {
        // APPEND
        const v = pop('APPEND');
        const list = top('APPEND');
        if (!Array.isArray(list)) fail(`APPEND to ${describe(list)}, not a list`);
        (list as PickleValue<E>[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark('APPENDS');
        const list = top('APPENDS');
        if (!Array.isArray(list)) fail(`APPENDS to ${describe(list)}, not a list`);
        for (const v of items) (list as PickleValue<E>[]).push(v);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PickleDict<E>(false));
        break;
      case 0x64: {
        // DICT
        const items = popMark('DICT');
        if (items.length % 2 !== 0) fail('DICT with an odd number of items');
        const d = new PickleDict<E>(false);
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1], 'DICT');
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop('SETITEM');
        const k = pop('SETITEM');
        setItem(top('SETITEM'), k, v, 'SETITEM');
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark('SETITEMS');
        if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
        const d = top('SETITEMS');
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1], 'SETITEMS');
        break;
      }
      case 0x68: // BINGET
        stack.push(memoGet(take(1, 'BINGET')[0]));
        break;
      case 0x6a: // LONG_BINGET
        need(4, 'LONG_BINGET');
        stack.push(memoGet(view.getUint32(pos, true)));
        pos += 4;
        break;
      case 0x67: // GET
        stack.push(memoGet(Number(intLine(line('GET'), 'GET'))));
        break;
      case 0x71: // BINPUT
        memoPut(take(1, 'BINPUT')[0], 'BINPUT');
        break;
      case 0x72: // LONG_BINPUT
        need(4, 'LONG_BINPUT');
        memoPut(view.getUint32(pos, true), 'LONG_BINPUT');
        pos += 4;
        break;
      case 0x70: // PUT
        memoPut(Number(intLine(line('PUT'), 'PUT')), 'PUT');
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size, 'MEMOIZE');
        break;
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const module = line('GLOBAL');
        stack.push(global(module, line('GLOBAL')));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop('STACK_GLOBAL');
        const module = pop('STACK_GLOBAL');
        if (typeof module !== 'string' || typeof name !== 'string') {
          fail(`STACK_GLOBAL needs two strings, got ${describe(module)} and ${describe(name)}`);
        }
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE: callable(*args)
        const args = pop('REDUCE');
        const fn = pop('REDUCE');
        if (!(fn instanceof PickleGlobal)) fail(`REDUCE calls ${describe(fn)}; only allowed globals may be called`);
        const handler = options.globals.get((fn as PickleGlobal).qualifiedName);
        if (!handler) fail(`REDUCE calls ${(fn as PickleGlobal).qualifiedName}, which may not be called`);
        if (!(args instanceof PickleTuple)) fail(`REDUCE arguments are ${describe(args)}, not a tuple`);
        stack.push((handler as NonNullable<typeof handler>)((args as PickleTuple<E>).items, site()));
        break;
      }
      case 0x62: {
        // BUILD: only a dict's state (an OrderedDict's attributes, e.g. a state dict's _metadata)
        const state = pop('BUILD');
        const obj = top('BUILD');
        if (!(obj instanceof PickleDict)) fail(`BUILD on ${describe(obj)}; only dicts may take a state`);
        (obj as PickleDict<E>).state = state;
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop('BINPERSID');
        if (!options.persistentLoad) fail('a persistent id, which this file type may not contain');
        stack.push((options.persistentLoad as NonNullable<typeof options.persistentLoad>)(pid, site()));
        break;
      }
      case 0x50: {
        // PERSID (text)
        const pid = line('PERSID');
        if (!options.persistentLoad) fail('a persistent id, which this file type may not contain');
        stack.push((options.persistentLoad as NonNullable<typeof options.persistentLoad>)(pid, site()));
        break;
      }
      default: {
        const name = OPCODE_NAMES[op];
        if (name) {
          fail(`opcode ${name} builds objects or sets, which a state dict of tensors never needs; refusing the file`);
        }
        fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')} (corrupt data, or not a pickle)`);
      }
    }
  }
}
