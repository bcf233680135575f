import { describe, expect, it } from 'vitest';
import {
  bf16ArrayToF32,
  bf16BitsToF32,
  elementBits,
  f16BitsToF32,
  f32ArrayToBf16,
  f32ToBf16Bits,
  f32ToF16Bits,
  promoteTypes,
} from '../../core/dtype.js';

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
  it('promotes the new storage dtypes sensibly', () => {
    expect(promoteTypes('bf16', 'f16')).toBe('f32');
    expect(promoteTypes('u8', 'i8')).toBe('i32');
    expect(promoteTypes('i8', 'bf16')).toBe('bf16');
  });
});

describe('bf16 conversion', () => {
  // Values from the bfloat16 format description (Wikipedia "bfloat16 floating-point format").
  const known: [number, number][] = [
    [0x3f80, 1],
    [0xc000, -2],
    [0x7f7f, 3.3895313892515355e38],
    [0x0080, 2 ** -126],
    [0x0001, 2 ** -133],
    [0x3eab, 0.333984375],
    [0x7f80, Number.POSITIVE_INFINITY],
    [0xff80, Number.NEGATIVE_INFINITY],
    [0x8000, -0],
  ];
  it.each(known)('bits %s ↔ %s', (bits, value) => {
    expect(Object.is(bf16BitsToF32(bits), value)).toBe(true);
    expect(f32ToBf16Bits(value)).toBe(bits);
  });

  it('rounds to nearest even, overflows to infinity and keeps NaN quiet', () => {
    expect(bf16BitsToF32(f32ToBf16Bits(1 + 2 ** -8))).toBe(1); // halfway: ties to even (1.0)
    expect(bf16BitsToF32(f32ToBf16Bits(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6); // halfway, odd: up
    expect(bf16BitsToF32(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20))).toBe(1 + 2 ** -7); // above halfway
    expect(f32ToBf16Bits(3.4e38)).toBe(0x7f80);
    const nanBits = f32ToBf16Bits(Number.NaN);
    expect(nanBits & 0x7f80).toBe(0x7f80);
    expect(nanBits & 0x0040).toBe(0x0040);
  });

  it('round-trips every bf16 pattern through f32 and the array forms', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const wide = bf16ArrayToF32(all);
    const back = f32ArrayToBf16(wide);
    const bad: number[] = [];
    for (let i = 0; i < 65536; i++) if (!Number.isNaN(wide[i]) && back[i] !== i) bad.push(i);
    expect(bad).toEqual([]);
  });
});

describe('elementBits', () => {
  it('gives the stored bit pattern of a value in each 32-bit-or-narrower dtype', () => {
    expect(elementBits(1, 'f32')).toBe(0x3f800000);
    expect(elementBits(-2, 'f16')).toBe(0xc000);
    expect(elementBits(1, 'bf16')).toBe(0x3f80);
    expect(elementBits(-1, 'i32')).toBe(0xffffffff);
    expect(elementBits(-1, 'i8')).toBe(0xff);
    expect(elementBits(300, 'u8')).toBe(300 & 255);
    expect(elementBits(2 ** 32 - 1, 'u32')).toBe(0xffffffff);
    expect(() => elementBits(1, 'f64')).toThrow(/f64/);
  });
});
