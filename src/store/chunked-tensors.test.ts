/**
 * Large tensors through the chunked path (small chunk sizes so tests stay small): byte-exact round trips of a
 * 64 MB model, loads, exact dedup per tensor and per chunk, near copies coded against their base's chunks and
 * kept alive by gc after the base model is gone, damage found and named, and a cancelled put that leaves the
 * store as it was. Oracles: the original bytes and a second store without chunking.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { isNeurStoreError } from '../errors.js';
import { SeededRandom } from '../env/seeded-random.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../engine/record-format.js';
import { NeurStore } from './neur-store.js';
import { RecordKind } from './record-payload.js';
import { writeSafetensorsFile, type TestTensor } from './testing/safetensors-files.js';
import { tempDir } from './testing/temp-dir.js';
import { bf16Weights } from './testing/bf16-weights.js';

const rng = new SeededRandom(77);
const tmp = tempDir();
const CHUNK = 64 * 1024;

const bf16 = (n: number, from?: Uint8Array, noise = 0): Uint8Array => bf16Weights(rng, n, from, noise);

const baseTensors: TestTensor[] = [
  { name: 'embed', dtype: 'BF16', shape: [512, 256], bytes: bf16(512 * 256) }, // 256 KiB: 4 chunks
  { name: 'layer.0.w', dtype: 'BF16', shape: [300, 301], bytes: bf16(300 * 301) }, // odd size: a short last chunk
  { name: 'norm', dtype: 'F32', shape: [256], bytes: rng.bytes(1024) }, // small: stored whole
  { name: 'ids', dtype: 'U8', shape: [200_000], bytes: rng.bytes(200_000) },
];
const tuned: TestTensor[] = baseTensors.map((t) => (t.dtype === 'BF16'
  ? { ...t, bytes: bf16(t.bytes.length / 2, t.bytes, 0.001) }
  : t));
const basePath = await writeSafetensorsFile(join(tmp, 'base.safetensors'), baseTensors);
const tunedPath = await writeSafetensorsFile(join(tmp, 'tuned.safetensors'), tuned);

async function open(dir = join(tempDir(), 's'), chunkBytes = CHUNK): Promise<NeurStore> {
  return NeurStore.init(dir, { chunkBytes, engine: { segmentBytes: 512 * 1024, pageBytes: 64 * 1024 } });
}

/** The store's first segment and the offset of its `nth` chunk record (records lie in chunk order). */
function chunkRecord(dir: string, nth: number): { seg: string; b: Buffer; pos: number } {
  const seg = join(dir, 'segments', '000001.seg');
  const b = readFileSync(seg);
  let pos = SEGMENT_HEADER_BYTES;
  for (let seen = 0; ; pos += RECORD_HEADER_BYTES + b.readUInt32LE(pos + 8)) {
    if (b[pos + RECORD_HEADER_BYTES + 1] === RecordKind.Chunk && ++seen === nth) return { seg, b, pos };
  }
}

/** Flips one bit in the payload of the `nth` chunk record of the store's first segment. */
function damageChunk(dir: string, nth: number, at: number, bit: number): void {
  const { seg, b, pos } = chunkRecord(dir, nth);
  b[pos + RECORD_HEADER_BYTES + at] ^= bit;
  writeFileSync(seg, b);
}

async function exact(store: NeurStore, name: string, original: string): Promise<void> {
  const out = join(tempDir(), `${name}.safetensors`);
  await store.get(name, out);
  assert.ok(readFileSync(out).equals(readFileSync(original)), `${name} reads back byte-exact`);
}

test('large tensors are stored as chunks and read back byte-exact, whole and in load modes, as without chunking', async () => {
  const store = await open();
  const r = await store.put(basePath, { name: 'base' });
  assert.deepEqual(r.tensors.map((t) => t.codec === 'chunked'), [true, true, false, true], 'tensors above the chunk size are chunked');
  await exact(store, 'base', basePath);
  const plain = await open(undefined, 1 << 30);
  await plain.put(basePath, { name: 'base' });
  const a = [];
  for await (const t of store.load('base', { mode: 'fp32' })) a.push(t);
  const b = [];
  for await (const t of plain.load('base', { mode: 'fp32' })) b.push(t);
  assert.deepEqual(a, b, 'loads equal those of a store without chunking');
  assert.equal((await store.verify()).ok, true);
  // Put again: every chunk and every tensor is a duplicate.
  const again = await store.put(basePath, { name: 'again' });
  assert.ok(again.tensors.every((t) => t.storedAs === 'duplicate'), 'every tensor dedups whole');
  assert.ok(again.storedBytes < 2000, `a second put stores ~nothing (${again.storedBytes} bytes)`);
  await store.close();
  await plain.close();
});

test('a fine-tune is coded against its base chunk by chunk, smaller, and stays readable after the base is removed and gc runs', async () => {
  const store = await open();
  const base = await store.put(basePath, { name: 'base' });
  const ft = await store.put(tunedPath, { name: 'tuned' });
  const embed = ft.tensors.find((t) => t.name === 'embed')!;
  assert.equal(embed.storedAs, 'lossless-delta');
  assert.equal(embed.baseKey, base.tensors.find((t) => t.name === 'embed')!.recordKey);
  const baseEmbed = base.tensors.find((t) => t.name === 'embed')!;
  assert.ok(embed.storedBytes < 0.8 * baseEmbed.storedBytes, `XOR against the base chunk pays (${embed.storedBytes} vs ${baseEmbed.storedBytes})`);
  await store.remove('base');
  await store.gc();
  await exact(store, 'tuned', tunedPath);
  assert.equal((await store.verify()).ok, true);
  await store.close();
});

test('a 64 MB model goes through the chunked path with 1 MiB chunks, byte-exact', async () => {
  const big = await writeSafetensorsFile(join(tmp, 'big.safetensors'), [
    { name: 'w', dtype: 'BF16', shape: [8192, 4096], bytes: bf16(8192 * 4096) },
  ]);
  const store = await open(undefined, 1024 * 1024);
  const r = await store.put(big, { name: 'big' });
  assert.equal(r.tensors[0]!.codec, 'chunked');
  await exact(store, 'big', big);
  await store.close();
});

test('chunks decode on the decode workers byte-exact as on the calling thread, with and without get --verify, through XOR chains', async () => {
  const dir = join(tempDir(), 's');
  const store = await open(dir);
  await store.put(basePath, { name: 'base' });
  await store.put(tunedPath, { name: 'tuned' });
  await store.close();
  for (const decodeWorkers of [0, 2]) {
    const s = await NeurStore.open(dir, { decodeWorkers, readOnly: true });
    for (const verify of [false, true]) {
      for (const [name, path] of [['base', basePath], ['tuned', tunedPath]] as const) {
        const out = join(tempDir(), `${name}.safetensors`);
        await s.get(name, out, { verify });
        assert.ok(readFileSync(out).equals(readFileSync(path)), `${name}, ${decodeWorkers} workers, verify ${verify}: byte-exact`);
      }
    }
    await s.close();
  }
});

test('a damaged chunk is CORRUPTION on get, and verify names the model and tensor', async () => {
  const dir = join(tempDir(), 's');
  const store = await open(dir);
  await store.put(basePath, { name: 'base' });
  await store.close();
  damageChunk(dir, 1, 200, 0x10); // embed's first chunk
  const again = await open(dir);
  await assert.rejects(again.get('base', join(tempDir(), 'x.safetensors')), (e) => isNeurStoreError(e, 'CORRUPTION'));
  const v = await again.verify();
  assert.equal(v.ok, false);
  assert.deepEqual(v.tensors.map((t) => [t.model, t.tensor]), [['base', 'embed']]);
  await again.close();
});

test('a cancelled put stores nothing: the store lists what it did before, gc returns it to its size', async () => {
  const store = await open();
  await store.put(basePath, { name: 'base' });
  const before = await store.stats();
  const controller = new AbortController();
  await assert.rejects(
    store.put(tunedPath, { name: 'tuned', signal: controller.signal, onProgress: (p) => { if (p.done > 0) controller.abort(); } }),
    (e) => isNeurStoreError(e, 'CANCELLED'),
  );
  assert.deepEqual((await store.list()).map((m) => m.name), ['base']);
  await store.gc();
  const after = await store.stats();
  assert.equal(after.segmentBytes, before.segmentBytes);
  await exact(store, 'base', basePath);
  await store.close();
});

test('effort max stores no more bytes than the default effort, whole and chunked, byte-exact', async () => {
  const fast = await open();
  const max = await open();
  const a = await fast.put(basePath, { name: 'base' });
  const b = await max.put(basePath, { name: 'base', effort: 'max' });
  for (const [i, t] of b.tensors.entries()) assert.ok(t.storedBytes <= a.tensors[i]!.storedBytes, `${t.name}: ${t.storedBytes} <= ${a.tensors[i]!.storedBytes}`);
  await exact(max, 'base', basePath);
  await assert.rejects(max.put(basePath, { name: 'x', effort: 'huge' as 'max' }), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  await fast.close();
  await max.close();
});

test('a fine-tune whose base chunk is damaged codes that chunk alone and reads back byte-exact', async () => {
  const dir = join(tempDir(), 's');
  const store = await open(dir);
  await store.put(basePath, { name: 'base' });
  await store.close();
  damageChunk(dir, 2, 300, 0x04); // embed's second chunk: not the one near copies are ranked on
  const again = await open(dir);
  const ft = await again.put(tunedPath, { name: 'tuned' });
  assert.equal(ft.tensors.find((t) => t.name === 'embed')!.storedAs, 'lossless-delta', 'the other chunks still use the base');
  await exact(again, 'tuned', tunedPath);
  await again.close();
});

for (const [nth, which] of [[1, 'first'], [2, 'second']] as const) {
  test(`self-healing of chunked tensors (${which} chunk damaged): putting an intact copy again replaces it and repairs the models that use it`, async () => {
    const dir = join(tempDir(), 's');
    const store = await open(dir);
    await store.put(basePath, { name: 'base' });
    await store.close();
    damageChunk(dir, nth, 200, 0x10);
    const again = await open(dir);
    await assert.rejects(again.get('base', join(tempDir(), 'x.safetensors')), (e) => isNeurStoreError(e, 'CORRUPTION'));
    // A fine-tune coded against the damaged list's intact chunks, before the repair.
    await again.put(tunedPath, { name: 'tuned' });
    await again.put(basePath, { name: 'copy' });
    await exact(again, 'copy', basePath);
    await exact(again, 'base', basePath); // repointed to the fresh chunk list
    await exact(again, 'tuned', tunedPath);
    await again.gc(); // the damaged chunk is no longer needed by any model: gc goes through and drops it
    assert.equal((await again.verify()).ok, true);
    for (const [name, path] of [['base', basePath], ['copy', basePath], ['tuned', tunedPath]]) await exact(again, name!, path!);
    await again.close();
  });
}

test('default mode streams large float tensors as group-quantized chunks: every element within the bound, smaller than lossless, fine-tunes against the base', async () => {
  const store = await open();
  const lossless = await open();
  const base = await store.put(basePath, { name: 'base', tolerance: 1e-3 });
  const exactBase = await lossless.put(basePath, { name: 'base' });
  const embed = base.tensors.find((t) => t.name === 'embed')!;
  assert.equal(embed.codec, 'chunked');
  assert.equal(embed.storedAs, 'standalone');
  assert.ok(embed.maxError <= 1e-3 && embed.maxError > 0, `max error ${embed.maxError}`);
  assert.ok(base.storedBytes < 0.8 * exactBase.storedBytes, `lossy ${base.storedBytes} < lossless ${exactBase.storedBytes}`);
  const ft = await store.put(tunedPath, { name: 'tuned', tolerance: 1e-3 });
  assert.equal(ft.tensors.find((t) => t.name === 'embed')!.storedAs, 'delta');
  for (const [name, file, tensors] of [['base', basePath, baseTensors], ['tuned', tunedPath, tuned]] as const) {
    const out = join(tempDir(), `${name}.safetensors`);
    await store.get(name, out);
    const got = readFileSync(out);
    assert.equal(got.length, readFileSync(file).length);
    for await (const t of store.load(name, { mode: 'fp32' })) {
      const want = tensors.find((x) => x.name === t.name)!;
      if (want.dtype !== 'BF16' || t.form !== 'f32') continue;
      const w = new Uint16Array(want.bytes.buffer.slice(want.bytes.byteOffset, want.bytes.byteOffset + want.bytes.length));
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < w.length; i++) {
        u[0] = w[i]! << 16;
        assert.ok(Math.abs(t.values[i]! - f[0]!) <= 1e-3, `${name}/${t.name}[${i}] within the bound`);
      }
    }
  }
  assert.equal((await store.verify()).ok, true);
  await store.remove('base');
  await store.gc();
  assert.equal((await store.verify()).ok, true);
  await store.close();
  await lossless.close();
});

test('paper mode streams tensors above the chunk size as the default mode does (within the bound); smaller ones keep the paper codec', async () => {
  const store = await open();
  const r = await store.put(basePath, { name: 'base', mode: 'paper', tolerance: 1e-3 });
  const embed = r.tensors.find((t) => t.name === 'embed')!;
  assert.equal(embed.codec, 'chunked', 'a tensor of several chunks is streamed');
  assert.ok(embed.maxError <= 1e-3 && embed.maxError > 0, `max error ${embed.maxError}`);
  const small = await open(undefined, 16 * 1024 * 1024); // chunk size above every tensor: all whole
  const whole = await small.put(basePath, { name: 'base', mode: 'paper', tolerance: 1e-3 });
  assert.ok(whole.tensors.filter((t) => t.dtype === 'BF16').every((t) => t.codec === 'paper-delta'), 'below the chunk size the paper codec stores them');
  for await (const t of store.load('base', { mode: 'fp32' })) {
    const want = baseTensors.find((x) => x.name === t.name)!;
    if (want.dtype !== 'BF16' || t.form !== 'f32') continue;
    const w = new Uint16Array(want.bytes.buffer.slice(want.bytes.byteOffset, want.bytes.byteOffset + want.bytes.length));
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    let worst = 0;
    for (let i = 0; i < w.length; i++) {
      u[0] = w[i]! << 16;
      worst = Math.max(worst, Math.abs(t.values[i]! - f[0]!));
    }
    assert.ok(worst <= 1e-3, `${t.name}: every element within the bound (worst ${worst})`);
  }
  assert.equal((await store.verify()).ok, true);
  await store.close();
  await small.close();
});

/**
 * Like damageChunk, but the record's checksums are recomputed, so the forgery passes the CRCs every read checks:
 * flips `bit` of payload byte `at` (negative: from the payload's end).
 */
function forgeChunk(dir: string, nth: number, at: number, bit: number): void {
  const { seg, b, pos } = chunkRecord(dir, nth);
  const length = b.readUInt32LE(pos + 8);
  const payload = b.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + length);
  payload[at < 0 ? length + at : at] ^= bit;
  b.writeUInt32LE(crc32(payload), pos + 4);
  b.writeUInt32LE(crc32(b.subarray(pos + 4, pos + RECORD_HEADER_BYTES)), pos);
  writeFileSync(seg, b);
}

test('a lossy chunk whose stored digest does not match what it decodes to fails every get, not only get --verify', async () => {
  const dir = join(tempDir(), 's');
  const store = await open(dir);
  await store.put(basePath, { name: 'base', tolerance: 1e-3 });
  await store.close();
  forgeChunk(dir, 1, 4 + 32, 0x01); // the first byte of `check`, the digest of the decoded bytes (record-payload.ts)
  const again = await open(dir);
  await assert.rejects(again.get('base', join(tempDir(), 'x.safetensors')), (e) => isNeurStoreError(e, 'CORRUPTION') && /SHA-256/.test((e as Error).message));
  assert.equal((await again.verify()).ok, false);
  await again.close();
});

test('a lossless chunk forged past its CRCs fails get --verify and verify', async () => {
  const dir = join(tempDir(), 's');
  const store = await open(dir);
  await store.put(basePath, { name: 'base' });
  await store.close();
  forgeChunk(dir, 1, -4, 0x04);
  const again = await open(dir);
  await assert.rejects(again.get('base', join(tempDir(), 'x.safetensors'), { verify: true }), (e) => isNeurStoreError(e, 'CORRUPTION'));
  assert.equal((await again.verify()).ok, false);
  await again.close();
});

test('one put codes a chunk that recurs in another tensor once, and each tensor reports that chunk\'s error', async () => {
  // Tensor b is one 64 KiB chunk, also a's first; the chunks of one put flow through one pipeline.
  const b = bf16(CHUNK / 2);
  const a = new Uint8Array(3 * CHUNK);
  a.set(b);
  a.set(bf16(CHUNK), CHUNK);
  const path = await writeSafetensorsFile(join(tempDir(), 'twins.safetensors'), [
    { name: 'a', dtype: 'BF16', shape: [3 * CHUNK / 2], bytes: a },
    { name: 'b', dtype: 'BF16', shape: [CHUNK / 2], bytes: b },
  ]);
  for (const tolerance of [undefined, 1e-3]) {
    const store = await open();
    const r = await store.put(path, { name: 'twins', tolerance });
    const [ta, tb] = r.tensors;
    assert.equal(tb!.codec, 'chunked');
    if (tolerance) {
      assert.ok(tb!.maxError > 0 && tb!.maxError <= tolerance, `tensor b's max error ${tb!.maxError} is its chunk's`);
      assert.ok(ta!.maxError >= tb!.maxError && ta!.maxError <= tolerance);
    }
    assert.ok(tb!.storedBytes < 200, `b stores only its list beside a (${tb!.storedBytes} bytes)`);
    if (!tolerance) await exact(store, 'twins', path);
    assert.equal((await store.verify()).ok, true);
    await store.close();
  }
});

test('a lossy chunk is read through its base chunks checked by the digest of what the chain decodes to', async () => {
  const dir = join(tempDir(), 's');
  const store = await open(dir);
  await store.put(basePath, { name: 'base', tolerance: 1e-3 });
  await store.put(tunedPath, { name: 'tuned', tolerance: 1e-3 });
  await store.close();
  // A byte of the base's first chunk body, forged past its CRCs: it still decodes, to other values.
  forgeChunk(dir, 1, 400, 0x01);
  const again = await open(dir);
  const failed = async (name: string): Promise<string> => {
    const e = await again.get(name, join(tempDir(), `${name}.safetensors`)).then(() => null, (err: unknown) => err);
    assert.ok(isNeurStoreError(e, 'CORRUPTION') && /SHA-256/.test(e.message), `get ${name}: ${String(e)}`);
    return /record [0-9a-f]+/.exec(e.message)![0];
  };
  const base = await failed('base');
  // The fine-tune's chunk is a delta of that chunk: its own digest, over the values decoded through the base,
  // fails (the base chunk under it is not hashed a second time).
  assert.notEqual(await failed('tuned'), base, 'the fine-tune\'s own chunk is named');
  assert.equal((await again.verify()).ok, false);
  await again.close();
});

test('a put whose source fails partway through a chunked tensor stores nothing, and the store stays usable', async () => {
  const store = await open();
  await store.put(basePath, { name: 'base' });
  const before = await store.stats();
  const file = readFileSync(tunedPath);
  // Reads past the middle of the file fail (a disk or network error while later chunks still code).
  const failing = {
    files: ['tuned.safetensors'],
    open: async () => ({
      size: file.length,
      read: async (offset: number, length: number) => {
        if (offset + length > file.length / 2) throw new Error('read failed: device gone');
        return file.subarray(offset, offset + length);
      },
    }),
  };
  await assert.rejects(store.putSource(failing, { name: 'tuned' }), /device gone/);
  assert.deepEqual((await store.list()).map((m) => m.name), ['base']);
  await store.gc();
  assert.equal((await store.stats()).segmentBytes, before.segmentBytes);
  assert.equal((await store.verify()).ok, true);
  await store.put(tunedPath, { name: 'tuned' });
  await exact(store, 'tuned', tunedPath);
  await store.close();
});

test('records of a megabyte and more are CRC-checked on the codec workers: damage is still CORRUPTION on get, named by verify, and no base of a put', async () => {
  // 2 MiB chunks: the random U8 tensor's records hold 2 MiB raw, the bf16 ones ~1.4 MB, past the size from
  // which a record's CRC is taken on a worker (the tests above use 64 KiB chunks, checked inline).
  const big: TestTensor[] = [
    { name: 'w', dtype: 'BF16', shape: [2048, 1024], bytes: bf16(2048 * 1024) }, // 4 MiB: 2 chunks
    { name: 'ids', dtype: 'U8', shape: [4 << 20], bytes: rng.bytes(4 << 20) }, // 2 chunks
  ];
  const bigTuned = big.map((t) => (t.dtype === 'BF16' ? { ...t, bytes: bf16(t.bytes.length / 2, t.bytes, 0.001) } : t));
  const bigPath = await writeSafetensorsFile(join(tmp, 'big.safetensors'), big);
  const bigTunedPath = await writeSafetensorsFile(join(tmp, 'big-tuned.safetensors'), bigTuned);
  const dir = join(tempDir(), 's');
  const store = await NeurStore.init(dir, { chunkBytes: 2 << 20 });
  await store.put(bigPath, { name: 'base' });
  await store.close();
  const { b, pos } = chunkRecord(dir, 2);
  assert.ok(b.readUInt32LE(pos + 8) >= 1 << 20, 'a record of a megabyte or more');
  damageChunk(dir, 2, 5000, 0x08); // w's second chunk
  damageChunk(dir, 3, 5000, 0x08); // ids' first chunk
  const again = await NeurStore.open(dir, { chunkBytes: 2 << 20 });
  await assert.rejects(again.get('base', join(tempDir(), 'x.safetensors')), (e) => isNeurStoreError(e, 'CORRUPTION') && /payload checksum mismatch/.test((e as Error).message));
  const v = await again.verify();
  assert.deepEqual(v.tensors.map((t) => [t.model, t.tensor]).sort(), [['base', 'ids'], ['base', 'w']]);
  const ft = await again.put(bigTunedPath, { name: 'tuned' });
  assert.equal(ft.tensors.find((t) => t.name === 'w')!.storedAs, 'lossless-delta', 'the intact chunk still uses the base');
  await exact(again, 'tuned', bigTunedPath);
  await again.close();
});
