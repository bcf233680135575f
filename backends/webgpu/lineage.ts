/**
 * How to rebuild a WebGPU storage on the host if the device is lost: each storage
 * points at the node that produced it — host data (an upload, a finished read, a
 * fallback result) or an op with its inputs and a host kernel (the js reference).
 * Nodes are plain objects that hold no GPU memory; a finished read replaces a
 * storage's node with its data, so chains stay short where results are consumed.
 */
import type { TypedArray } from '../../core/dtype.js';

export type HostCompute = (inputs: readonly TypedArray[]) => TypedArray[];

export interface LineageNode {
  /** Known host contents of every output of the node (uploads, reads, fallback results). */
  host?: TypedArray[];
  readonly inputs: readonly Source[];
  readonly compute?: HostCompute;
  /** Longest chain of computed nodes below this one. */
  readonly depth: number;
  /** What produced it, for messages ('op add', 'upload', 'contiguous'). */
  readonly label: string;
}

export interface Source {
  readonly node: LineageNode;
  readonly index: number;
}

export function hostNode(data: TypedArray, label: string): LineageNode {
  return { host: [data], inputs: [], depth: 0, label };
}

export function opNode(label: string, inputs: readonly Source[], compute: HostCompute): LineageNode {
  let depth = 0;
  for (const s of inputs) depth = Math.max(depth, s.node.host ? 0 : s.node.depth);
  return { inputs, compute, depth: depth + 1, label };
}

/**
 * The host contents of a source, computing (and caching on the nodes) whatever is
 * missing. Iterative, so a long chain cannot overflow the stack.
 */
export function materialize(source: Source): TypedArray {
  const stack: LineageNode[] = [source.node];
  while (stack.length > 0) {
    const node = stack[stack.length - 1];
    if (node.host) {
      stack.pop();
      continue;
    }
    const missing = node.inputs.filter((s) => !s.node.host).map((s) => s.node);
    if (missing.length > 0) {
      stack.push(...missing);
      continue;
    }
    if (!node.compute) throw new Error(`WebGPU recovery: no host data or host kernel for '${node.label}'`);
    node.host = node.compute(node.inputs.map((s) => s.node.host![s.index]));
    stack.pop();
  }
  return source.node.host![source.index];
}
