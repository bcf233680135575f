/** Shape arithmetic shared by every op's shape rule. Errors name the op and the values. */
export type Shape = readonly number[];

export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function assertValidShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(
        `${what}: invalid shape ${formatShape(shape)}: every dimension must be a non-negative integer`,
      );
    }
  }
}

/** NumPy broadcasting: align from the right; a dimension of 1 stretches. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else {
        throw new ShapeError(
          `${op}: shapes ${shapes.map(formatShape).join(' and ')} cannot broadcast (dimension ${i - s.length} is ${d} vs ${out[o]})`,
        );
      }
    }
  }
  return out;
}

/** Strides that read `shape` as if broadcast to `target` (0 on stretched axes). */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const base = contiguousStrides(shape);
  const out = new Array<number>(target.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const t = target.length - shape.length + i;
    out[t] = shape[i] === 1 && target[t] !== 1 ? 0 : base[i];
  }
  return out;
}

/** Resolve one axis (negative counts from the end) against a rank. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new ShapeError(
      `${op}: axis ${axis} is out of range for a tensor of rank ${rank} (use -${rank}..${rank - 1})`,
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/** Resolve a list of axes; undefined means all axes. Sorted, without duplicates. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(op, a, rank));
  if (new Set(out).size !== out.length) throw new ShapeError(`${op}: duplicate axis in [${list.join(', ')}]`);
  return out.sort((a, b) => a - b);
}

/** Axes of `full` that were stretched from `shape` by broadcasting (to sum a gradient over). */
export function broadcastedAxes(shape: Shape, full: Shape): number[] {
  const axes: number[] = [];
  const lead = full.length - shape.length;
  for (let i = 0; i < full.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && full[i] !== 1)) axes.push(i);
  }
  return axes;
}
