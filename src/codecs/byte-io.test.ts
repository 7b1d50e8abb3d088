import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter } from './byte-io.js';
import { isNeurStoreError } from '../errors.js';

test('writer bytes match DataView little-endian encodings, across buffer growth', () => {
  const w = new ByteWriter();
  const big = new Uint8Array(1000).map((_, i) => i * 7);
  w.u8(0x1ff).u16(0x12345).u32(-1).i32(-2).f32(1.5).f64(-0.1).varint(300).bytes(big).block(Uint8Array.of(9, 8));
  const want = new Uint8Array(1 + 2 + 4 + 4 + 4 + 8 + 2 + 1000 + 3);
  const dv = new DataView(want.buffer);
  dv.setUint8(0, 0xff);
  dv.setUint16(1, 0x2345, true);
  dv.setUint32(3, 0xffffffff, true);
  dv.setInt32(7, -2, true);
  dv.setFloat32(11, 1.5, true);
  dv.setFloat64(15, -0.1, true);
  want.set([0xac, 0x02], 23); // 300 as LEB128
  want.set(big, 25);
  want.set([2, 9, 8], 1025);
  assert.equal(w.length, want.length);
  assert.deepEqual(w.finish(), want);
});

test('reader round-trips every writer method inside a [start, end) window', () => {
  const w = new ByteWriter().u8(0xee).u8(7).u16(513).u32(4e9).i32(-5).f32(0.25).f64(Math.PI).varint(2 ** 40).block(Uint8Array.of(1, 2, 3)).u8(0xee);
  const blob = w.finish();
  const r = new ByteReader(blob, 'blob', { start: 1, end: blob.length - 1 });
  assert.deepEqual(
    [r.u8(), r.u16(), r.u32(), r.i32(), r.f32(), r.f64(), r.varint(), [...r.block()]],
    [7, 513, 4e9, -5, 0.25, Math.PI, 2 ** 40, [1, 2, 3]],
  );
  assert.equal(r.remaining, 0);
  r.end();
  assert.throws(() => r.u8('tail'), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /tail needs 1 bytes/.test((e as Error).message));
});

test('short reads, failed checks and trailing bytes throw the configured error kind', () => {
  const blob = Uint8Array.of(1, 2, 3);
  const invalid = new ByteReader(blob, 'codec blob');
  assert.throws(() => invalid.u32(), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /codec blob.*byte 0/.test((e as Error).message));
  invalid.u8();
  assert.throws(() => invalid.end(), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /2 unexpected trailing bytes/.test((e as Error).message));
  const corrupt = new ByteReader(blob, 'index', { errors: 'corruption' });
  assert.throws(() => corrupt.f64('value'), (e) => isNeurStoreError(e, 'CORRUPTION') && /value needs 8 bytes, 3 left/.test((e as Error).message));
  assert.throws(() => corrupt.check(false, 'bad magic'), (e) => isNeurStoreError(e, 'CORRUPTION') && /bad magic/.test((e as Error).message));
  const endless = new ByteReader(new Uint8Array(9).fill(0x80), 'varints');
  assert.throws(() => endless.varint(), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /too long/.test((e as Error).message));
});
