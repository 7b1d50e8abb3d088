// Malformed GGUF files: each fails fast with INVALID_ARGUMENT naming the problem (never a crash, a hang or a
// huge allocation), and a seeded fuzz of truncations and byte flips either reads (then rewrites byte-identically)
// or fails with INVALID_ARGUMENT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNeurStoreError } from '../../errors.js';
import { memorySink, memorySource, type ByteSource } from '../byte-source.js';
import type { ModelSink } from '../model-format.js';
import { ggufFormat } from './gguf-format.js';
import { readGgufHeader } from './gguf-header-reader.js';
import { encodeKvs, quantizedSpec, rawGgufHeader, sampleMetadata, bytesSpec, type RawTensorInfo } from './gguf-samples.js';
import { SeededRandom } from '../../env/seeded-random.js';
import { ByteBuilder, type GgufValue } from './gguf-values.js';
import { writeGguf } from './gguf-writer.js';

const source = (src: ByteSource) => ({ files: ['m.gguf'], open: async () => src });
const read = (bytes: Uint8Array) => ggufFormat.read(source(memorySource(bytes)));

async function rejects(bytes: Uint8Array | ByteSource, pattern: RegExp, what = String(pattern)): Promise<void> {
  const src = bytes instanceof Uint8Array ? memorySource(bytes) : bytes;
  await assert.rejects(ggufFormat.read(source(src)), (e) => {
    assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), `${what}: ${String(e)}`);
    assert.match(e.message, pattern, what);
    return true;
  });
}

function file(o: { kvs?: [string, GgufValue][]; rawKvs?: Uint8Array; kvCount?: number | bigint; infos?: RawTensorInfo[]; data?: number; version?: number; tensorCount?: bigint }): Uint8Array {
  const kvs = o.kvs ?? [];
  const header = rawGgufHeader({
    version: o.version, tensorCount: o.tensorCount, kvCount: o.kvCount ?? kvs.length,
    kvs: o.rawKvs ?? encodeKvs(kvs), infos: o.infos ?? [],
  });
  return Buffer.concat([header, new Uint8Array(o.data ?? 0)]);
}

/** A raw kv entry: key, then the given type id and value bytes. */
function rawKv(key: string, type: number, write: (b: ByteBuilder) => void): Uint8Array {
  const b = new ByteBuilder();
  b.string(key);
  b.u32(type);
  write(b);
  return b.result();
}

const f32 = (name: string, n: number, offset: number | bigint): RawTensorInfo => ({ name, ne: [n], type: 0, offset });

test('not GGUF, truncated preamble, unsupported versions and endianness', async () => {
  await rejects(new Uint8Array(0), /missing magic/);
  await rejects(Uint8Array.of(0x47, 0x47, 0x55), /missing magic/);
  await rejects(Buffer.from('GGML\x03\0\0\0'), /missing magic/);
  await rejects(Buffer.from('GGUF\x03\0'), /truncated GGUF header: version/);
  await rejects(file({ version: 1 }), /version 1/);
  await rejects(file({ version: 4 }), /unknown GGUF version 4/);
  await rejects(file({ version: 0x03000000 }), /big-endian/);
});

test('every truncation of a valid file is INVALID_ARGUMENT', async () => {
  const s = memorySink();
  await writeGguf(sampleMetadata(), [bytesSpec('w', 'F32', [3], new Uint8Array(12)), quantizedSpec('q', 'Q8_0', 1, 32, new SeededRandom(1))], s);
  const whole = s.bytes();
  const h = await readGgufHeader(memorySource(whole));
  const dataEnd = h.dataStart + h.tensors[1]!.offset + h.tensors[1]!.byteLength; // after it only padding
  assert.ok(dataEnd < whole.length);
  for (let n = 0; n < dataEnd; n++) {
    const e = await read(whole.subarray(0, n)).then(() => undefined, (err: unknown) => err);
    assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), `prefix ${n}: ${String(e)}`);
    assert.match(e.message, /truncated|missing magic|past the end|more than the file can hold/, `prefix ${n}`);
  }
  for (let n = dataEnd; n < whole.length; n++) await read(whole.subarray(0, n)); // a shorter tail pad is still a file
});

test('lying counts and lengths are capped by the file size, not allocated', async () => {
  await rejects(file({ tensorCount: 1n << 62n }), /tensor count is \d+ \(at offset 8\), more than the file can hold \(at most \d+\): the file is cut short or corrupt; download or export it again$/);
  await rejects(file({ kvCount: 1n << 40n }), /metadata count is \d+ .* more than the file can hold/);
  await rejects(file({ kvCount: 1, rawKvs: rawKv('k', 8, (b) => b.u64(1n << 50n)) }), /length of metadata 'k'/);
  await rejects(file({ kvCount: 1, rawKvs: rawKv('k', 9, (b) => { b.u32(10); b.u64(1n << 40n); }) }), /element count of metadata 'k'/);
  const hugeKey = new ByteBuilder();
  hugeKey.u64(0xffffffffffffffffn);
  hugeKey.bytes(new Uint8Array(16));
  await rejects(file({ kvCount: 1, rawKvs: hugeKey.result() }), /length of metadata key #0/);
  await rejects(file({ infos: [{ name: 'x', ne: [1n << 60n, 1n << 60n], type: 0, offset: 0 }] }), /dimension 0 of tensor 'x'|too large/);
  await rejects(file({ infos: [{ name: 'x', ne: [1n << 26n, 1n << 26n], type: 0, offset: 0 }] }), /too large/);
});

test('a string length the file cannot hold names that string: the key, the value, the array element, the tensor name', async () => {
  const named = (field: string) => new RegExp(`^GGUF length of ${field} is 1152921504606846976 \\(at offset \\d+\\), ` +
    'more than the file can hold \\(at most \\d+\\): the file is cut short or corrupt; download or export it again$');
  const key = new ByteBuilder();
  key.u64(1n << 60n);
  key.bytes(new Uint8Array(16));
  await rejects(file({ kvCount: 1, rawKvs: key.result() }), named('metadata key #0'));
  await rejects(file({ kvCount: 1, rawKvs: rawKv('general.name', 8, (b) => b.u64(1n << 60n)) }), named("metadata 'general\\.name'"));
  // An array of three strings whose second one lies: the message names element [1], once, and not the array.
  const tokens = rawKv('tokenizer.ggml.tokens', 9, (b) => { b.u32(8); b.u64(3n); b.string('a'); b.u64(1n << 60n); b.u64(0n); });
  await rejects(file({ kvCount: 1, rawKvs: tokens }), named("metadata 'tokenizer\\.ggml\\.tokens'\\[1\\]"));
  const tensorName = new ByteBuilder();
  tensorName.bytes(Buffer.from('GGUF'));
  tensorName.u32(3);
  tensorName.u64(1n); // one tensor
  tensorName.u64(0n); // no metadata
  tensorName.u64(1n << 60n); // the length of its name
  tensorName.bytes(new Uint8Array(32));
  await rejects(tensorName.result(), named('name of tensor #0'));
});

test('unknown value types, bad UTF-8, duplicates and over-deep nesting', async () => {
  await rejects(file({ kvCount: 1, rawKvs: rawKv('k', 13, () => {}) }), /unknown GGUF value type 13 for metadata 'k'/);
  await rejects(file({ kvCount: 1, rawKvs: rawKv('k', 9, (b) => { b.u32(99); b.u64(0); }) }), /unknown GGUF value type 99 for elements/);
  const badKey = new ByteBuilder();
  badKey.u64(2);
  badKey.bytes(Uint8Array.of(0xff, 0xfe));
  badKey.u32(0);
  badKey.u8(1);
  await rejects(file({ kvCount: 1, rawKvs: badKey.result() }), /not valid UTF-8/);
  await rejects(file({ kvs: [['a', { type: 'BOOL', value: true }]], kvCount: 2, rawKvs: encodeKvs([['a', { type: 'BOOL', value: true }], ['a', { type: 'UINT8', value: 1 }]]) }), /duplicate GGUF metadata key 'a'/);
  let deep: GgufValue = { type: 'ARRAY', elementType: 'UINT8', items: [] };
  for (let i = 0; i < 9; i++) deep = { type: 'ARRAY', elementType: 'ARRAY', items: [deep] };
  await rejects(file({ kvs: [['deep', deep]] }), /metadata 'deep'(\[0\]){8}: arrays nested deeper than 8/);
});

test('bad alignment metadata', async () => {
  await rejects(file({ kvs: [['general.alignment', { type: 'UINT64', value: 32n }]] }), /must be a UINT32/);
  await rejects(file({ kvs: [['general.alignment', { type: 'UINT32', value: 0 }]] }), /not a power of two/);
  await rejects(file({ kvs: [['general.alignment', { type: 'UINT32', value: 24 }]] }), /not a power of two/);
});

test('bad tensor infos: ggml type, n_dims, block multiple, offsets, overlap, duplicates', async () => {
  await rejects(file({ infos: [{ name: 'x', ne: [32], type: 4, offset: 0 }], data: 64 }), /unknown ggml type 4 for tensor 'x'/);
  await rejects(file({ infos: [{ name: 'x', ne: [32], type: 1000, offset: 0 }], data: 64 }), /unknown ggml type 1000/);
  await rejects(file({ infos: [{ name: 'x', ne: [1, 1, 1, 1, 1], type: 0, offset: 0 }], data: 32 }), /'x' has 5 dimensions/);
  await rejects(file({ infos: [{ name: 'x', ne: [], nDims: 0xffffffff, type: 0, offset: 0 }] }), /'x' has 4294967295 dimensions/);
  await rejects(file({ infos: [{ name: 'q', ne: [33], type: 2, offset: 0 }], data: 64 }), /33 is not a multiple of Q4_0's block size 32/);
  await rejects(file({ infos: [f32('x', 8, 32)], data: 40 }), /'x' \(32 bytes at data offset 32\) runs past the end/);
  await rejects(file({ infos: [f32('x', 1, 1n << 62n)], data: 32 }), /offset of tensor 'x'|runs past the end/);
  await rejects(file({ infos: [f32('x', 1, 8)], data: 64 }), /offset 8 is not a multiple of the alignment 32/);
  await rejects(file({ infos: [f32('a', 16, 0), f32('b', 4, 32)], data: 64 }), /'a' and 'b' overlap/);
  await rejects(file({ infos: [f32('a', 1, 0), f32('a', 1, 32)], data: 64 }), /duplicate GGUF tensor name 'a'/);
});

test('a huge sparse region is refused; a multi-GB tensor is described without reading it', async () => {
  const header = file({ infos: [f32('big', 1 << 30, 0)] }); // a 4 GiB tensor
  const reads: [number, number][] = [];
  const huge = (size: number): ByteSource => ({
    size,
    async read(offset, length) {
      reads.push([offset, length]);
      if (length > 1 << 20) throw new Error(`test source refuses to read ${length} bytes`);
      const out = new Uint8Array(length);
      out.set(header.subarray(Math.min(offset, header.length), Math.min(offset + length, header.length)));
      return out;
    },
  });
  const layout = await ggufFormat.read(source(huge(header.length + 4 * 2 ** 30)));
  assert.equal(layout.tensors[0]!.byteLength, 4 * 2 ** 30);
  assert.ok(reads.every(([o]) => o < header.length), 'no read past the header');
  await rejects(huge(header.length + 4 * 2 ** 30 + 64 * 2 ** 20), /bytes outside any tensor/);
});

test('seeded fuzz: truncations, byte flips and u64 splats read cleanly or fail with INVALID_ARGUMENT', async () => {
  const rand = new SeededRandom(2026);
  const s = memorySink();
  await writeGguf(sampleMetadata(), [
    bytesSpec('w', 'F32', [2, 3], rand.bytes(24)),
    quantizedSpec('q', 'Q4_K', 1, 256, rand),
    bytesSpec('h', 'F16', [5], rand.bytes(10)),
  ], s);
  const base = s.bytes();
  let ok = 0;
  for (let iter = 0; iter < 600; iter++) {
    const bytes = mutate(base, rand);
    try {
      const layout = await read(bytes);
      await checkRewrite(layout, bytes);
      ok++;
    } catch (e) {
      assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), `iteration ${iter}: ${String(e)}`);
    }
  }
  assert.ok(ok > 0, 'some mutations (in tensor data or padding) must still read');
});

function mutate(base: Uint8Array, rand: SeededRandom): Uint8Array {
  const kind = rand.int(3);
  if (kind === 0) return base.subarray(0, rand.int(base.length));
  const out = new Uint8Array(base); // a copy: Buffer#slice would share memory with base
  if (kind === 1) {
    for (let k = 1 + rand.int(4); k > 0; k--) out[rand.int(out.length)] ^= 1 << rand.int(8);
  } else {
    const at = rand.int(out.length - 8);
    new DataView(out.buffer).setBigUint64(at, BigInt(rand.int(2 ** 53)) << BigInt(rand.int(11)), true);
  }
  return out;
}

async function checkRewrite(layout: Awaited<ReturnType<typeof read>>, bytes: Uint8Array): Promise<void> {
  const chunks: Uint8Array[] = [];
  const sink: ModelSink = { create: async () => ({ write: async (c) => { chunks.push(new Uint8Array(c)); }, close: async () => {} }) };
  await ggufFormat.write({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i]!.read() }, sink);
  assert.ok(Buffer.concat(chunks).equals(bytes), 'a file that reads must rewrite byte-identically');
}
