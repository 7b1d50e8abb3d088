/**
 * Transposes row-major 2-D tensors, quantized or float32. A [784,128] tensor and a [128,784] base hold the
 * same matrix when one framework stores `W` and another `W^T`; comparing element (i,j) of one with (j,i) of
 * the other is the same as comparing the transposed query with the base element-wise, so the router
 * transposes the query once and reuses the ordinary space.
 */
import { invalidArgument } from '../errors.js';
import type { Quant8 } from '../codecs/quant8.js';

function checkShape(length: number, rows: number, cols: number): void {
  const ok = Number.isSafeInteger(rows) && Number.isSafeInteger(cols) && rows >= 0 && cols >= 0;
  if (!ok || rows * cols !== length) {
    throw invalidArgument(`cannot view ${length} elements as a ${rows}x${cols} matrix`);
  }
}

function transposeInto<T extends Uint8Array | Float32Array>(src: T, dst: T, rows: number, cols: number): T {
  // Blocked so both sides stay in cache for big matrices.
  const B = 32;
  for (let i0 = 0; i0 < rows; i0 += B) {
    const i1 = Math.min(rows, i0 + B);
    for (let j0 = 0; j0 < cols; j0 += B) {
      const j1 = Math.min(cols, j0 + B);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) dst[j * rows + i] = src[i * cols + j]!;
    }
  }
  return dst;
}

/** The [cols, rows] transpose of a row-major [rows, cols] quantized matrix (same min/scale, new codes). */
export function transposeQuant8(q: Quant8, rows: number, cols: number): Quant8 {
  checkShape(q.codes.length, rows, cols);
  return { codes: transposeInto(q.codes, new Uint8Array(q.codes.length), rows, cols), min: q.min, scale: q.scale };
}

/** The [cols, rows] transpose of a row-major [rows, cols] float32 matrix. */
export function transposeFloat32(x: Float32Array, rows: number, cols: number): Float32Array {
  checkShape(x.length, rows, cols);
  return transposeInto(x, new Float32Array(x.length), rows, cols);
}
