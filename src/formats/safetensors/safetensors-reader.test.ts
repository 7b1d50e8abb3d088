// Reader tests on synthetic files: every dtype, empty tensors, scalars, metadata, and every malformed case
// the spec rules out, each checked for its error code and for a message that names the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNeurStoreError } from '../../errors.js';
import { memorySink, memorySource } from '../byte-source.js';
import { SAFETENSORS_DTYPES, SAFETENSORS_DTYPE_BITS } from './safetensors-dtype.js';
import { findDuplicateKey } from './safetensors-header.js';
import { readSafetensors } from './safetensors-reader.js';
import { writeSafetensors, writeSafetensorsVerbatim } from './safetensors-writer.js';

/** A file with the given header text (no padding added) and data buffer. */
function rawFile(header: string, data: Uint8Array | number = 0): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

function withLength(length: bigint, total: number): Uint8Array {
  const out = new Uint8Array(total).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, length, true);
  if (total > 8) out[8] = 0x7b;
  return out;
}

/** Byte equality whatever the view types (Buffer vs Uint8Array). */
function sameBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length);
  assert.ok(view(actual).equals(view(expected)), message ?? `bytes differ (${actual.length} vs ${expected.length})`);
}

async function rejects(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  await assert.rejects(readSafetensors(memorySource(bytes)), (e: unknown) => {
    assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), `expected INVALID_ARGUMENT, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

async function roundTrip(bytes: Uint8Array): Promise<Uint8Array> {
  const file = await readSafetensors(memorySource(bytes));
  const sink = memorySink();
  await writeSafetensorsVerbatim(file.headerBytes, (i) => file.tensors[i].read(), sink);
  return sink.bytes();
}

test('every spec dtype is read, mapped and written back byte-exactly', async () => {
  for (const dtype of SAFETENSORS_DTYPES) {
    const bits = SAFETENSORS_DTYPE_BITS[dtype];
    const shape = [2, 4];
    const byteLength = (8 * bits) / 8;
    const data = Uint8Array.from({ length: byteLength }, (_, i) => (i * 37 + bits) & 0xff);
    const sink = memorySink();
    await writeSafetensors([{ name: `t_${dtype}`, dtype, shape, byteLength }], async () => data, sink);
    const bytes = sink.bytes();
    const file = await readSafetensors(memorySource(bytes));
    assert.equal(file.header.tensors[0].dtype, dtype);
    assert.deepEqual(file.header.tensors[0].shape, shape);
    const entry = file.tensors[0];
    const native = ['F4', 'F6_E2M3', 'F6_E3M2', 'F8_E8M0', 'C64'].includes(dtype) === false;
    assert.equal(entry.dtype, native ? dtype : 'U8', dtype);
    assert.deepEqual(entry.shape, native ? shape : [byteLength], dtype);
    assert.equal(entry.byteLength, byteLength);
    sameBytes(await entry.read(), data);
    sameBytes(await roundTrip(bytes), bytes);
  }
});

test('scalars, empty tensors and zero-size dims', async () => {
  const header =
    '{"e2":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"s":{"dtype":"I32","shape":[],"data_offsets":[0,4]},' +
    '"e1":{"dtype":"F64","shape":[3,0,2],"data_offsets":[4,4]},"z":{"dtype":"U8","shape":[],"data_offsets":[4,5]}}';
  const bytes = rawFile(header, Uint8Array.from([1, 2, 3, 4, 9]));
  const file = await readSafetensors(memorySource(bytes));
  assert.deepEqual(file.tensors.map((t) => t.name), ['s', 'e1', 'e2', 'z']);
  assert.deepEqual(file.tensors.map((t) => t.shape), [[], [3, 0, 2], [0], []]);
  sameBytes(await file.tensors[0].read(), Uint8Array.from([1, 2, 3, 4]));
  assert.equal((await file.tensors[1].read()).length, 0);
  sameBytes(await file.tensors[3].read(), Uint8Array.from([9]));
  sameBytes(await roundTrip(bytes), bytes);
});

test('a file with no tensors at all', async () => {
  for (const header of ['{}', '{}      ', '{"__metadata__":{}}']) {
    const bytes = rawFile(header);
    const file = await readSafetensors(memorySource(bytes));
    assert.equal(file.tensors.length, 0);
    sameBytes(await roundTrip(bytes), bytes);
  }
});

test('__metadata__ is parsed, kept verbatim, and written by the generic writer', async () => {
  const meta = { format: 'pt', '0': 'zero', 'ünï "quoted"': 'line\nbreak' };
  const sink = memorySink();
  await writeSafetensors([{ name: 'w', dtype: 'F16', shape: [3], byteLength: 6 }], async () => new Uint8Array(6), sink, meta);
  const bytes = sink.bytes();
  const file = await readSafetensors(memorySource(bytes));
  assert.deepEqual({ ...file.header.metadata }, meta);
  assert.equal(file.headerBytes.length % 8, 0);
  assert.ok(Buffer.from(file.headerBytes).toString().startsWith('{"__metadata__":'));
  sameBytes(await roundTrip(bytes), bytes);
  const none = await readSafetensors(memorySource(rawFile('{}')));
  assert.equal(none.header.metadata, undefined);
});

test('header padding and unaligned headers are accepted', async () => {
  const info = '"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}';
  for (const header of [`{${info}}`, `{${info}}   `, `{ \n${info}\t}\r\n  `]) {
    const bytes = rawFile(header, Uint8Array.from([5, 6]));
    const file = await readSafetensors(memorySource(bytes));
    assert.equal(file.dataOffset, 8 + Buffer.byteLength(header));
    sameBytes(await file.tensors[0].read(), Uint8Array.from([5, 6]));
    sameBytes(await roundTrip(bytes), bytes);
  }
});

test('file-level errors: short file, header past the end, header over 100 MB', async () => {
  const cutShort = /the file is cut short; download or copy it again$/;
  await rejects(new Uint8Array(0), /0 bytes, shorter than its 8-byte header length/);
  await rejects(new Uint8Array(7), /7 bytes, shorter than its 8-byte header length/);
  await rejects(new Uint8Array(7), cutShort);
  await rejects(withLength(100n, 40), /header length 100 runs past the end of the file \(40 bytes/);
  await rejects(withLength(100n, 40), cutShort);
  const overLimit = /^safetensors header is (\d+) bytes, over the limit of 100000000 bytes \(100 MB\) .*export the model again with its __metadata__ under the limit$/;
  await rejects(withLength(100_000_001n, 40), overLimit);
  await rejects(withLength(100_000_001n, 40), /header is 100000001 bytes/);
  await rejects(withLength(2n ** 64n - 1n, 40), /header is 18446744073709551615 bytes, over the limit/);
});

test('header errors: encoding, JSON, not an object, duplicates', async () => {
  await rejects(rawFile(''), /must start with '\{', got an empty header/);
  await rejects(rawFile('[1, 2]'), /must start with '\{', got "\[1, 2\]"/);
  await rejects(rawFile(' {}'), /must start with '\{'/);
  await rejects(rawFile('\ufeff{}'), /must start with '\{', got "\ufeff\{\}"/);
  await rejects(rawFile('{"a":'), /not valid JSON/);
  await rejects(rawFile('{} x'), /not valid JSON/);
  const badUtf8 = rawFile('{"a":1}');
  badUtf8[10] = 0xff;
  await rejects(badUtf8, /not valid UTF-8/);
  const t = '{"dtype":"U8","shape":[1],"data_offsets":[0,1]}';
  await rejects(rawFile(`{"a":${t},"a":${t}}`, 1), /duplicate key "a"/);
  await rejects(rawFile(`{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1), /duplicate key "dtype"/);
  await rejects(rawFile('{"__metadata__":{"k":"1","k":"2"}}'), /duplicate key "k"/);
  await rejects(rawFile('{"\\u0061":' + t + ',"a":' + t + '}', 1), /duplicate key "a"/);
});

test('duplicate-key scan ignores keys in different objects and strings that look like keys', () => {
  assert.equal(findDuplicateKey('{"a":{"a":1},"b":["a","a"],"c":"a:"}'), undefined);
  assert.equal(findDuplicateKey('{"x":"\\"","y":{"z":1,"w":[{"z":2}]},"y":3}'), 'y');
});

const info = (fields: string) => `{"t":{${fields}}}`;

test('tensor entry errors: not an object, dtype, shape', async () => {
  await rejects(rawFile('{"t":5}'), /tensor "t": entry must be an object, got number 5/);
  await rejects(rawFile('{"t":[1]}'), /tensor "t": entry must be an object, got an array/);
  await rejects(rawFile(info('"dtype":"F7","shape":[1],"data_offsets":[0,1]'), 1), /tensor "t": unknown dtype "F7"/);
  await rejects(rawFile(info('"dtype":"f32","shape":[1],"data_offsets":[0,4]'), 4), /unknown dtype "f32"/);
  await rejects(rawFile(info('"dtype":4,"shape":[1],"data_offsets":[0,4]'), 4), /dtype must be a string, got number 4/);
  await rejects(rawFile(info('"shape":[1],"data_offsets":[0,4]'), 4), /dtype must be a string, got nothing \(the field is missing\)/);
  for (const shape of ['[-1]', '[1.5]', '["2"]', '2', 'null', '[null]', '{}', '[1e300]']) {
    await rejects(
      rawFile(info(`"dtype":"U8","shape":${shape},"data_offsets":[0,1]`), 1),
      /tensor "t": shape must be an array of non-negative integers/,
    );
  }
  await rejects(
    rawFile(info('"dtype":"U8","shape":[9007199254740991,4],"data_offsets":[0,1]'), 1),
    /tensor "t": shape \[9007199254740991, 4\] is too large/,
  );
  await rejects(rawFile(info('"dtype":"F4","shape":[3],"data_offsets":[0,2]'), 2), /do not fill a whole number of bytes/);
});

test('data_offsets errors: form, order, size against dtype*shape', async () => {
  for (const offs of ['[0]', '[0,1,2]', '[2,1]', '["0",1]', '[0.5,1]', '[-1,0]', 'null', '{}']) {
    await rejects(
      rawFile(info(`"dtype":"U8","shape":[1],"data_offsets":${offs}`), 1),
      /tensor "t": data_offsets must be \[begin, end\] with integers 0 <= begin <= end/,
    );
  }
  await rejects(rawFile(info('"dtype":"U8","shape":[1]'), 1), /data_offsets must be \[begin, end\].*got nothing/);
  const long = `[${Array(5000).fill(-1).join(',')}]`;
  await rejects(rawFile(info(`"dtype":"U8","shape":${long},"data_offsets":[0,1]`), 1), /got \[-1,-1,.*\.\.\. \(\d+ chars\)$/);
  await rejects(
    rawFile(info('"dtype":"F32","shape":[2],"data_offsets":[0,4]'), 4),
    /tensor "t": data_offsets \[0, 4\] hold 4 bytes but dtype F32 with shape \[2\] needs 8/,
  );
  await rejects(
    rawFile(info('"dtype":"BF16","shape":[],"data_offsets":[0,0]')),
    /hold 0 bytes but dtype BF16 with shape \[\] needs 2/,
  );
});

test('layout errors: overlap, out of range, holes, trailing bytes', async () => {
  const t = (name: string, b: number, e: number) => `"${name}":{"dtype":"U8","shape":[${e - b}],"data_offsets":[${b},${e}]}`;
  await rejects(rawFile(`{${t('a', 0, 8)},${t('b', 4, 12)}}`, 12), /tensor "b": data_offsets \[4, 12\] overlap tensor "a" \[0, 8\]/);
  await rejects(rawFile(`{${t('a', 0, 8)},${t('b', 0, 8)}}`, 8), /overlap tensor "[ab]"/);
  await rejects(rawFile(`{${t('a', 0, 8)},${t('b', 8, 16)}}`, 12), /tensor "b": data_offsets \[8, 16\] run past the end of the 12-byte data buffer/);
  await rejects(rawFile(`{${t('a', 0, 4)},${t('b', 6, 8)}}`, 8), /hole: bytes \[4, 6\) belong to no tensor \(before tensor "b"\)/);
  await rejects(rawFile(`{${t('a', 2, 4)}}`, 4), /hole: bytes \[0, 2\) belong to no tensor/);
  await rejects(rawFile(`{${t('a', 0, 4)}}`, 7), /hole: bytes \[4, 7\) after the last tensor/);
  await rejects(rawFile('{}', 3), /hole: bytes \[0, 3\) after the last tensor/);
});

test('metadata errors: not an object, non-string values', async () => {
  await rejects(rawFile('{"__metadata__":{"a":1}}'), /__metadata__ value of key "a" must be a string, got number 1/);
  await rejects(rawFile('{"__metadata__":{"a":"x","b":null}}'), /value of key "b" must be a string, got null/);
  await rejects(rawFile('{"__metadata__":{"a":["x"]}}'), /value of key "a" must be a string, got an array/);
  await rejects(rawFile('{"__metadata__":"x"}'), /__metadata__ must be an object of strings, got string "x"/);
  await rejects(rawFile('{"__metadata__":null}'), /__metadata__ must be an object of strings, got null/);
});

test('tensor bytes are read lazily: parsing touches only the prefix and the header', async () => {
  const header = '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}';
  const bytes = rawFile(header, Uint8Array.from([1, 2, 3, 4, 5, 6]));
  const inner = memorySource(bytes);
  const reads: [number, number][] = [];
  const source = { size: inner.size, read: (o: number, l: number) => (reads.push([o, l]), inner.read(o, l)) };
  const file = await readSafetensors(source);
  const headerEnd = 8 + header.length;
  assert.ok(reads.every(([o, l]) => o + l <= headerEnd), JSON.stringify(reads));
  reads.length = 0;
  sameBytes(await file.tensors[1].read(), Uint8Array.from([5, 6]));
  assert.deepEqual(reads, [[headerEnd + 4, 2]]);
});
