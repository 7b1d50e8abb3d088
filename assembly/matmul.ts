// Direct y = x·W kernels (re-exported by kernels.ts) with W in its stored form: u8 affine, i8/i16 scaled or
// plain f32 codes, never decoded to a float32 tensor. Pinned order (kernels-ts.ts is the reference):
// acc[j] = Σ_t f32(x[t] * f32(w[t][j])) in f32 from +0, t ascending. Vectors run across j (output columns),
// never across t, so each lane keeps that order; mul then add, both rounded to f32 (no fused multiply-add).
//
// Two paths, same arithmetic:
// - tiles (m >= 4, columns below n & ~7): a strip of 8 columns of W is widened once into `strip` (k × 8 f32,
//   contiguous), then every 4 rows of x run over it with their 4×8 sums in registers (tile4x8);
// - streaming (m < 4, and the last n % 8 columns): W rows stream in order into rows of f32 sums in `acc`.
//
// Scratch (the host passes this many bytes at `scratch`, 16-aligned; src/kernels/wasm-kernels.ts sizes it):
//   scratch := strip[k * 8 f32] bias[m f32, padded to 16 bytes] acc[4 * n f32]

/** Rows of x per pass over the W strips: keeps that slice of x in cache while each strip serves it. */
const ROW_CHUNK = 64;

/** 4 weights at p as f32 lanes; T (u8, i8, i16, f32) picks the widening at compile time. */
@inline function loadW4<T>(p: usize): v128 {
  if (isFloat<T>()) return v128.load(p);
  if (sizeof<T>() == 2) return f32x4.convert_i32x4_s(v128.load16x4_s(p));
  const b = v128.load32_zero(p);
  // u8 codes widen to 0..255, so the signed int->float conversion (one x86 instruction) is exact.
  if (isSigned<T>()) return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(b)));
  return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(b)));
}

/** True for the affine u8 kernel, whose result adds f32(sx * min). */
@inline function affine<T>(): bool {
  return isInteger<T>() && !isSigned<T>();
}

/** Stores r = finish(acc lanes) at o, or f32(o + r) when `add`: u8 f32(acc*scale + bias), i8/i16 acc*scale. */
@inline function finish4<T>(a: v128, vs: v128, vb: v128, o: usize, add: bool): void {
  let r = a;
  if (isInteger<T>()) r = f32x4.mul(r, vs);
  if (affine<T>()) r = f32x4.add(r, vb);
  v128.store(o, add ? f32x4.add(v128.load(o), r) : r);
}

/** Widens columns [j, j + 8) of W (k × n of T) into strip, row t at strip + 32 t. */
function packStrip<T>(w: usize, k: i32, n: i32, j: i32, strip: usize): void {
  const ws = <usize>n * sizeof<T>();
  let wp = w + <usize>j * sizeof<T>();
  for (let t = 0; t < k; t++, wp += ws) {
    const s = strip + (<usize>t << 5);
    v128.store(s, loadW4<T>(wp));
    v128.store(s + 16, loadW4<T>(wp + 4 * sizeof<T>()));
  }
}

/** out[r][0..8) for 4 rows of x (row stride k) against a packed strip; bias and out point at row 0. */
function tile4x8<T>(x: usize, k: i32, strip: usize, bias: usize, scale: f32, n: i32, out: usize, add: bool): void {
  const xs = <usize>k << 2;
  let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  let sp = strip;
  for (let xp = x, xe = x + xs; xp < xe; xp += 4, sp += 32) {
    const w0 = v128.load(sp), w1 = v128.load(sp, 16);
    let xv = v128.load32_splat(xp);
    a00 = f32x4.add(a00, f32x4.mul(xv, w0));
    a01 = f32x4.add(a01, f32x4.mul(xv, w1));
    xv = v128.load32_splat(xp + xs);
    a10 = f32x4.add(a10, f32x4.mul(xv, w0));
    a11 = f32x4.add(a11, f32x4.mul(xv, w1));
    xv = v128.load32_splat(xp + 2 * xs);
    a20 = f32x4.add(a20, f32x4.mul(xv, w0));
    a21 = f32x4.add(a21, f32x4.mul(xv, w1));
    xv = v128.load32_splat(xp + 3 * xs);
    a30 = f32x4.add(a30, f32x4.mul(xv, w0));
    a31 = f32x4.add(a31, f32x4.mul(xv, w1));
  }
  const vs = f32x4.splat(scale);
  const rb = <usize>n << 2;
  let vb = v128.load32_splat(bias);
  finish4<T>(a00, vs, vb, out, add);
  finish4<T>(a01, vs, vb, out + 16, add);
  vb = v128.load32_splat(bias + 4);
  finish4<T>(a10, vs, vb, out + rb, add);
  finish4<T>(a11, vs, vb, out + rb + 16, add);
  vb = v128.load32_splat(bias + 8);
  finish4<T>(a20, vs, vb, out + 2 * rb, add);
  finish4<T>(a21, vs, vb, out + 2 * rb + 16, add);
  vb = v128.load32_splat(bias + 12);
  finish4<T>(a30, vs, vb, out + 3 * rb, add);
  finish4<T>(a31, vs, vb, out + 3 * rb + 16, add);
}

/** The same for one row of x. */
function tile1x8<T>(x: usize, k: i32, strip: usize, bias: usize, scale: f32, out: usize, add: bool): void {
  let a0 = f32x4.splat(0), a1 = a0;
  let sp = strip;
  for (let xp = x, xe = x + (<usize>k << 2); xp < xe; xp += 4, sp += 32) {
    const xv = v128.load32_splat(xp);
    a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(sp)));
    a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(sp, 16)));
  }
  const vs = f32x4.splat(scale), vb = v128.load32_splat(bias);
  finish4<T>(a0, vs, vb, out, add);
  finish4<T>(a1, vs, vb, out + 16, add);
}

/** Streaming: acc[r][j] += x[r][t] * w[t][j] for R (1 or 4) rows of x, every t, and columns j >= j0. */
@inline function streamRows<T>(R: i32, x: usize, k: i32, w: usize, n: i32, acc: usize, j0: i32): void {
  const xs = <usize>k << 2;
  const rb = <usize>n << 2;
  const n4 = j0 + ((n - j0) & ~3);
  for (let t = 0; t < k; t++) {
    const xp = x + (<usize>t << 2);
    const x0 = v128.load32_splat(xp);
    const x1 = R == 4 ? v128.load32_splat(xp + xs) : x0;
    const x2 = R == 4 ? v128.load32_splat(xp + 2 * xs) : x0;
    const x3 = R == 4 ? v128.load32_splat(xp + 3 * xs) : x0;
    const wr = w + <usize>t * <usize>n * sizeof<T>();
    let j = j0;
    for (; j < n4; j += 4) {
      const wv = loadW4<T>(wr + <usize>j * sizeof<T>());
      const a = acc + (<usize>j << 2);
      v128.store(a, f32x4.add(v128.load(a), f32x4.mul(x0, wv)));
      if (R == 4) {
        v128.store(a + rb, f32x4.add(v128.load(a + rb), f32x4.mul(x1, wv)));
        v128.store(a + 2 * rb, f32x4.add(v128.load(a + 2 * rb), f32x4.mul(x2, wv)));
        v128.store(a + 3 * rb, f32x4.add(v128.load(a + 3 * rb), f32x4.mul(x3, wv)));
      }
    }
    for (; j < n; j++) {
      const wv = <f32>load<T>(wr + <usize>j * sizeof<T>());
      for (let r = 0; r < R; r++) {
        const ar = acc + (<usize>j << 2) + <usize>r * rb;
        store<f32>(ar, load<f32>(ar) + load<f32>(xp + <usize>r * xs) * wv);
      }
    }
  }
}

function stream4<T>(x: usize, k: i32, w: usize, n: i32, acc: usize, j0: i32): void {
  streamRows<T>(4, x, k, w, n, acc, j0);
}

function stream1<T>(x: usize, k: i32, w: usize, n: i32, acc: usize, j0: i32): void {
  streamRows<T>(1, x, k, w, n, acc, j0);
}

/** Streaming path's finish: out[j] from acc[j] for columns j0 <= j < n of one row. */
function finishRow<T>(acc: usize, n: i32, j0: i32, bias: f32, scale: f32, out: usize, add: bool): void {
  const vs = f32x4.splat(scale), vb = f32x4.splat(bias);
  let j = j0;
  for (; j + 4 <= n; j += 4) finish4<T>(v128.load(acc + (<usize>j << 2)), vs, vb, out + (<usize>j << 2), add);
  for (; j < n; j++) {
    const p = <usize>j << 2;
    let r = load<f32>(acc + p);
    if (isInteger<T>()) r *= scale;
    if (affine<T>()) r += bias;
    store<f32>(out + p, add ? load<f32>(out + p) + r : r);
  }
}

/** Streams W once per 4 rows (then per leftover row) for the columns j >= j0. */
function streamAll<T>(x: usize, m: i32, k: i32, w: usize, n: i32, bias: usize, scale: f32, out: usize, add: bool, acc: usize, j0: i32): void {
  const xb = <usize>k << 2;
  const rb = <usize>n << 2;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    memory.fill(acc, 0, 4 * rb);
    stream4<T>(x + <usize>i * xb, k, w, n, acc, j0);
    for (let r = 0; r < 4; r++) {
      finishRow<T>(acc + <usize>r * rb, n, j0, load<f32>(bias + (<usize>(i + r) << 2)), scale, out + <usize>(i + r) * rb, add);
    }
  }
  for (; i < m; i++) {
    memory.fill(acc, 0, rb);
    stream1<T>(x + <usize>i * xb, k, w, n, acc, j0);
    finishRow<T>(acc, n, j0, load<f32>(bias + (<usize>i << 2)), scale, out + <usize>i * rb, add);
  }
}

function matmul<T>(x: usize, m: i32, k: i32, w: usize, n: i32, wMin: f32, scale: f32, out: usize, add: bool, scratch: usize): void {
  const strip = scratch;
  const bias = strip + (<usize>k << 5);
  const acc = bias + (((<usize>m << 2) + 15) & ~15);
  const xb = <usize>k << 2;
  const rb = <usize>n << 2;
  for (let i = 0; i < m; i++) {
    let sx: f32 = 0;
    if (affine<T>()) for (let t = 0; t < k; t++) sx += load<f32>(x + <usize>i * xb + (<usize>t << 2));
    store<f32>(bias + (<usize>i << 2), sx * wMin);
  }
  // A strip only pays for its widening when it serves several rows.
  const n8 = m >= 4 ? n & ~7 : 0;
  for (let i0 = 0; i0 < m; i0 += ROW_CHUNK) {
    const i1 = min(m, i0 + ROW_CHUNK);
    for (let j = 0; j < n8; j += 8) {
      packStrip<T>(w, k, n, j, strip);
      const o = out + (<usize>j << 2);
      let i = i0;
      for (; i + 4 <= i1; i += 4) tile4x8<T>(x + <usize>i * xb, k, strip, bias + (<usize>i << 2), scale, n, o + <usize>i * rb, add);
      for (; i < i1; i++) tile1x8<T>(x + <usize>i * xb, k, strip, bias + (<usize>i << 2), scale, o + <usize>i * rb, add);
    }
  }
  if (n8 < n) streamAll<T>(x, m, k, w, n, bias, scale, out, add, acc, n8);
}

export function matmulU8(x: usize, m: i32, k: i32, codes: usize, n: i32, min: f32, scale: f32, out: usize, add: bool, scratch: usize): void {
  matmul<u8>(x, m, k, codes, n, min, scale, out, add, scratch);
}

export function matmulS8(x: usize, m: i32, k: i32, codes: usize, n: i32, scale: f32, out: usize, add: bool, scratch: usize): void {
  matmul<i8>(x, m, k, codes, n, 0, scale, out, add, scratch);
}

export function matmulS16(x: usize, m: i32, k: i32, codes: usize, n: i32, scale: f32, out: usize, add: bool, scratch: usize): void {
  matmul<i16>(x, m, k, codes, n, 0, scale, out, add, scratch);
}

export function matmulF32(x: usize, m: i32, k: i32, w: usize, n: i32, out: usize, add: bool, scratch: usize): void {
  matmul<f32>(x, m, k, w, n, 0, 1, out, add, scratch);
}
