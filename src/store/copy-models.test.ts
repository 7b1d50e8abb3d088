/**
 * copyModels between stores: directory -> directory, and directory -> PostgreSQL -> directory (skipped with a loud
 * message when PostgreSQL is missing, never in CI). The models: a lossless one, a default-mode (lossy) fine-tune of
 * it, a chunked one and a default-mode chunked fine-tune of that (chunks coded against the base's chunks).
 * Oracles: `get` of every model from the destination is byte-identical to `get` from the source, `info` rows are
 * equal, the destination verifies ok; a second copy is a no-op; a name or a key taken by other content is CONFLICT
 * and writes nothing of that model; the source is unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNeurStoreError } from '../errors.js';
import { SeededRandom } from '../env/seeded-random.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../engine/record-format.js';
import { NeurStore } from './neur-store.js';
import { copyModels, type CopyProgress } from './copy-models.js';
import { Codec, RecordKind, encodePayload, exactIdentity } from './record-payload.js';
import { writeSafetensorsFile, type TestTensor } from './testing/safetensors-files.js';
import { tempDir } from './testing/temp-dir.js';
import { pgFixture } from '../backend/postgres/testing/pg-fixture.js';
import { bf16Weights } from './testing/bf16-weights.js';

// Started before any test is registered: a test registered after the others have run would never run.
const pg = await pgFixture('copy-models.test.ts');
const rng = new SeededRandom(1313);
const tmp = tempDir();
const CHUNK = 64 * 1024;

function f32(n: number, from?: Float32Array, noise = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (from ? from[i]! : rng.gaussian() * 0.05) + (noise ? rng.gaussian() * noise : 0);
  return out;
}

const bf16 = (n: number, from?: Uint8Array, noise = 0): Uint8Array => bf16Weights(rng, n, from, noise);

const bytesOf = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer.slice(0));
const w1 = f32(64 * 64);
const w2 = f32(32 * 64);
const small: TestTensor[] = [
  { name: 'w1', dtype: 'F32', shape: [64, 64], bytes: bytesOf(w1) },
  { name: 'w2', dtype: 'F32', shape: [32, 64], bytes: bytesOf(w2) },
  { name: 'ids', dtype: 'I32', shape: [16], bytes: rng.bytes(64) },
];
const smallTuned: TestTensor[] = [
  { name: 'w1', dtype: 'F32', shape: [64, 64], bytes: bytesOf(f32(64 * 64, w1, 0.002)) },
  { name: 'w2', dtype: 'F32', shape: [32, 64], bytes: bytesOf(f32(32 * 64, w2, 0.002)) },
  small[2]!,
];
const embed = bf16(512 * 256); // 256 KiB: 4 chunks
const big: TestTensor[] = [
  { name: 'embed', dtype: 'BF16', shape: [512, 256], bytes: embed },
  { name: 'ids', dtype: 'U8', shape: [100_000], bytes: rng.bytes(100_000) },
  { name: 'norm', dtype: 'F32', shape: [256], bytes: rng.bytes(1024) },
];
const bigTuned: TestTensor[] = [{ ...big[0]!, bytes: bf16(512 * 256, embed, 0.001) }, big[1]!, big[2]!];

const paths = {
  base: await writeSafetensorsFile(join(tmp, 'base.safetensors'), small),
  tuned: await writeSafetensorsFile(join(tmp, 'tuned.safetensors'), smallTuned),
  big: await writeSafetensorsFile(join(tmp, 'big.safetensors'), big),
  bigTuned: await writeSafetensorsFile(join(tmp, 'big-tuned.safetensors'), bigTuned),
};
const NAMES = ['base', 'big', 'big-tuned', 'tuned']; // as the catalog lists them

const storeOptions = { chunkBytes: CHUNK, decodeWorkers: 0, encodeWorkers: 0 };

async function sourceStore(): Promise<NeurStore> {
  const s = await NeurStore.init(join(tempDir(), 'src'), storeOptions);
  await s.put(paths.base, { name: 'base', tags: { team: 'a' } });
  await s.put(paths.tuned, { name: 'tuned', mode: 'default', tolerance: 1e-3 });
  await s.put(paths.big, { name: 'big' });
  await s.put(paths.bigTuned, { name: 'big-tuned', mode: 'default', tolerance: 1e-3 });
  // The copies below must carry delta chains: lossy tensors and chunks stored against the base's records.
  assert.ok((await s.info('tuned')).tensors.some((t) => t.storedAs === 'delta' && t.baseKey !== undefined));
  const embedRow = (await s.info('big-tuned')).tensors.find((t) => t.name === 'embed')!;
  assert.ok(embedRow.codec === 'chunked' && embedRow.baseKey !== undefined, JSON.stringify(embedRow, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  return s;
}

/** What a store says about itself and its models, to compare before and after. */
async function snapshot(s: NeurStore): Promise<unknown> {
  const st = await s.stats();
  return { list: await s.list(), infos: await Promise.all((await s.list()).map((m) => s.info(m.name))), records: st.records, recordBytes: st.recordBytes };
}

/** `get` of every model from both stores gives the same bytes; the rows are equal; the destination verifies. */
async function assertSameModels(from: NeurStore, to: NeurStore, names: readonly string[]): Promise<void> {
  const dir = tempDir();
  for (const name of names) {
    const [a] = await from.get(name, join(dir, `${name}.from.safetensors`));
    const [b] = await to.get(name, join(dir, `${name}.to.safetensors`));
    assert.ok(readFileSync(a!).equals(readFileSync(b!)), `${name}: get from the destination is byte-identical`);
    assert.deepEqual(await to.info(name), await from.info(name), `${name}: info rows are equal`);
  }
  const v = await to.verify();
  assert.ok(v.ok, JSON.stringify(v.tensors));
  assert.equal(v.modelsChecked, (await to.list()).length);
}

async function copyRoundTrip(makeTarget: () => Promise<NeurStore>): Promise<void> {
  const src = await sourceStore();
  const before = await snapshot(src);
  // The lossless put of the base is exact; the fine-tune is lossy, so get gives decoded (not original) bytes.
  const dst = await makeTarget();
  try {
    const seen: CopyProgress[] = [];
    const r = await copyModels(src, dst, undefined, { onProgress: (p) => seen.push(p) });
    assert.deepEqual(r.models.map((m) => [m.name, m.status]), NAMES.map((n) => [n, 'copied']));
    assert.ok(r.recordsCopied > 0 && r.bytesCopied > 0);
    const last = seen.at(-1)!;
    assert.equal(last.done, last.total, 'progress ends at its total');
    assert.ok(seen.every((p, i) => i === 0 || p.done >= seen[i - 1]!.done), 'progress only grows');
    await assertSameModels(src, dst, NAMES);
    // Chunked tensors and the lossy chunks' bases came along as they are.
    const bigInfo = await dst.info('big-tuned');
    assert.equal(bigInfo.tensors.find((t) => t.name === 'embed')!.codec, 'chunked');

    // Resumable: a second copy is a no-op.
    const mid = await snapshot(dst);
    const again = await copyModels(src, dst);
    assert.deepEqual(again.models.map((m) => m.status), NAMES.map(() => 'skipped'));
    assert.equal(again.recordsCopied, 0);
    assert.deepEqual(await snapshot(dst), mid);

    // Back into a fresh directory (from whatever the target is), then gc keeps everything.
    const back = await NeurStore.init(join(tempDir(), 'back'), storeOptions);
    try {
      await copyModels(dst, back, ['big-tuned', 'tuned']);
      assert.deepEqual((await back.list()).map((m) => m.name).sort(), ['big-tuned', 'tuned']);
      await assertSameModels(src, back, ['big-tuned', 'tuned']);
      await back.gc();
      await assertSameModels(src, back, ['big-tuned', 'tuned']);
    } finally {
      await back.close();
    }
    assert.deepEqual(await snapshot(src), before, 'the source is unchanged');
  } finally {
    await dst.close();
    await src.close();
  }
}

test('directory -> directory: every model byte-identical, rows equal, verify ok; twice is a no-op; source unchanged', async () => {
  await copyRoundTrip(() => NeurStore.init(join(tempDir(), 'dst'), storeOptions));
});

test('some models by name: the fine-tune brings its base records but not the base model; then the rest', async () => {
  const src = await sourceStore();
  const dst = await NeurStore.init(join(tempDir(), 'dst'), storeOptions);
  try {
    const r = await copyModels(src, dst, ['tuned']);
    assert.deepEqual(r.models.map((m) => [m.name, m.status]), [['tuned', 'copied']]);
    assert.deepEqual((await dst.list()).map((m) => m.name), ['tuned']);
    await assertSameModels(src, dst, ['tuned']);
    await dst.gc(); // the base's records the fine-tune decodes against stay alive
    await assertSameModels(src, dst, ['tuned']);
    const rest = await copyModels(src, dst);
    assert.deepEqual(rest.models.map((m) => [m.name, m.status]), NAMES.map((n) => [n, n === 'tuned' ? 'skipped' : 'copied']));
    await assertSameModels(src, dst, NAMES);
    await assert.rejects(copyModels(src, dst, ['nope']), (e) => isNeurStoreError(e, 'NOT_FOUND') && /'nope'/.test(e.message));
  } finally {
    await dst.close();
    await src.close();
  }
});

test('a name taken by other content is CONFLICT and nothing is written; so is a key holding another record', async () => {
  const src = await sourceStore();
  const dst = await NeurStore.init(join(tempDir(), 'dst'), storeOptions);
  try {
    await dst.put(paths.big, { name: 'tuned' }); // the name, other content
    const before = await snapshot(dst);
    await assert.rejects(copyModels(src, dst), (e) => isNeurStoreError(e, 'CONFLICT') && /'tuned'/.test(e.message));
    assert.deepEqual(await snapshot(dst), before, 'nothing written');

    // A record under the key the base's architecture needs, holding something else.
    const archKey = (await src.info('base')).architectureKey;
    const other = encodePayload({ kind: RecordKind.Architecture, codec: Codec.Raw, identity: exactIdentity(RecordKind.Architecture, Uint8Array.of(1, 2, 3)), body: Uint8Array.of(1, 2, 3) });
    await dst.backend.write(async (tx) => { assert.ok(await tx.records.append(archKey, other)); });
    const before2 = await snapshot(dst);
    await assert.rejects(copyModels(src, dst, ['base']),
      (e) => isNeurStoreError(e, 'CONFLICT') && e.message.includes(archKey.toString(16)) && /'base'/.test(e.message));
    assert.deepEqual(await snapshot(dst), before2, 'nothing of the model written');
    // The others still copy.
    await copyModels(src, dst, ['big', 'big-tuned']);
    await assertSameModels(src, dst, ['big', 'big-tuned']);
  } finally {
    await dst.close();
    await src.close();
  }
});

test('a damaged source record is CORRUPTION naming the model, and nothing of it is written', async () => {
  const dir = join(tempDir(), 'src');
  const src = await NeurStore.init(dir, storeOptions);
  await src.put(paths.big, { name: 'big' });
  await src.close();
  // Flip a bit in the payload of the second chunk record (records lie in the first segment in the order written).
  const seg = join(dir, 'segments', '000001.seg');
  const b = readFileSync(seg);
  let pos = SEGMENT_HEADER_BYTES;
  for (let seen = 0; ; pos += RECORD_HEADER_BYTES + b.readUInt32LE(pos + 8)) {
    if (b[pos + RECORD_HEADER_BYTES + 1] === RecordKind.Chunk && ++seen === 2) break;
  }
  b[pos + RECORD_HEADER_BYTES + 100]! ^= 4;
  writeFileSync(seg, b);
  const damaged = await NeurStore.open(dir, { ...storeOptions, readOnly: true });
  const dst = await NeurStore.init(join(tempDir(), 'dst'), storeOptions);
  try {
    await assert.rejects(copyModels(damaged, dst), (e) => isNeurStoreError(e, 'CORRUPTION') && /model 'big'/.test(e.message));
    assert.deepEqual(await dst.list(), []);
    assert.equal((await dst.stats()).records, 0, 'no record written');
  } finally {
    await dst.close();
    await damaged.close();
  }
});

test('a cancelled copy lists nothing of the model it stopped in', async () => {
  const src = await sourceStore();
  const dst = await NeurStore.init(join(tempDir(), 'dst'), storeOptions);
  try {
    const stop = new AbortController();
    await assert.rejects(copyModels(src, dst, ['big'], {
      signal: stop.signal,
      onProgress: (p) => { if (p.done > 0) stop.abort(); },
    }), (e) => isNeurStoreError(e, 'CANCELLED'));
    assert.deepEqual(await dst.list(), []);
    await copyModels(src, dst, ['big']);
    await assertSameModels(src, dst, ['big']);
  } finally {
    await dst.close();
    await src.close();
  }
});

if (pg) {
  test('directory -> PostgreSQL -> directory: byte-identical, rows equal, verify ok, resumable', async () => {
    const url = await pg.freshUrl();
    await copyRoundTrip(() => NeurStore.init(url, storeOptions));
  });
}
