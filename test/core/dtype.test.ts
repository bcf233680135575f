import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits, promoteTypes } from '../../core/dtype.js';

describe('f16 conversion', () => {
  // Bit patterns from the IEEE 754 binary16 tables (Wikipedia "Half-precision floating-point format").
  const known: [number, number][] = [
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0400, 2 ** -14],
    [0x0001, 2 ** -24],
    [0x3555, 0.333251953125],
    [0x7c00, Number.POSITIVE_INFINITY],
    [0xfc00, Number.NEGATIVE_INFINITY],
  ];
  it.each(known)('bits %s ↔ %s', (bits, value) => {
    expect(f16BitsToF32(bits)).toBe(value);
    expect(f32ToF16Bits(value)).toBe(bits);
  });

  it('rounds to nearest even and overflows to infinity', () => {
    expect(f16BitsToF32(f32ToF16Bits(1 + 2 ** -11))).toBe(1); // halfway: ties to even (1.0)
    expect(f16BitsToF32(f32ToF16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9); // halfway: ties to even (odd→up)
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(Number.NaN)))).toBe(true);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
  });

  it('round-trips every finite half exactly', () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = f16BitsToF32(bits);
      if (!Number.isNaN(v) && f32ToF16Bits(v) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it('reads bf16 as the top half of an f32', () => {
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0xc040)).toBe(-3);
  });

  it('promotes to the wider type', () => {
    expect(promoteTypes('f16', 'f32')).toBe('f32');
    expect(promoteTypes('i32', 'u8')).toBe('i32');
    expect(promoteTypes('u8', 'f16')).toBe('f16');
  });
});
