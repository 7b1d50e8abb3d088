/**
 * The corruption matrix: each kind of damage (segment header, record header, payload, truncated segment,
 * manifest missing or damaged, a catalog row) x each operation (get, ls, info, verify, put, rm + gc, repair),
 * on a store of several models over several small segments. Oracles: the original bytes of every model, and the
 * set of models whose records the damage touched. Checked for every cell: no wrong bytes are ever returned, no
 * intact record of a live model is ever deleted, failures carry the documented code, and after `repair` every
 * model whose records are intact reads back byte-exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NeurStoreError, isNeurStoreError } from '../errors.js';
import { NodeEnv } from '../env/node-env.js';
import { SeededRandom } from '../env/seeded-random.js';
import { scanSegment } from '../engine/segment-scanner.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../engine/record-format.js';
import { NeurStore } from './neur-store.js';
import { writeSafetensorsFile, type TestTensor } from './testing/safetensors-files.js';
import { tempDir } from './testing/temp-dir.js';

const ENGINE = { segmentBytes: 24 * 1024, pageBytes: 4 * 1024 };
const rng = new SeededRandom(1717);
const tmp = tempDir();

const tensor = (name: string, n = 1024): TestTensor => ({ name, dtype: 'F32', shape: [n], bytes: rng.bytes(n * 4) });
const shared = [tensor('shared.0'), tensor('shared.1')];
const MODELS: Record<string, TestTensor[]> = {
  m1: [...shared, tensor('m1.0'), tensor('m1.1')],
  m2: [...shared, tensor('m2.0')],
  mid: [tensor('mid.0'), tensor('mid.1', 2048)],
  l1: [tensor('l1.0'), tensor('l1.1'), tensor('l1.2')],
};
const original = new Map<string, Uint8Array>();

/** A store holding MODELS (built once, copied for every cell). */
const template = join(tmp, 'template');
{
  const store = await NeurStore.init(template, { engine: ENGINE });
  for (const [name, tensors] of Object.entries(MODELS)) {
    const path = await writeSafetensorsFile(join(tmp, `${name}.safetensors`), tensors);
    original.set(name, readFileSync(path));
    await store.put(path, { name });
  }
  await store.close();
}

interface Located {
  readonly file: string;
  readonly offset: number;
  readonly length: number;
}

/** Where every record lives, read off the segment files themselves. */
async function recordLocations(dir: string): Promise<Map<bigint, Located>> {
  const env = new NodeEnv();
  const out = new Map<bigint, Located>();
  for (const name of readdirSync(join(dir, 'segments')).sort()) {
    const file = join(dir, 'segments', name);
    const f = await env.openRead(file);
    await scanSegment(f, SEGMENT_HEADER_BYTES, await f.size(), (r) => out.set(r.key, { file, offset: r.offset, length: r.length }));
    await f.close();
  }
  return out;
}

/** Every record model `name` needs (architecture and tensors), as the template store holds them. */
const recordsOf = new Map<string, bigint[]>();
{
  const store = await NeurStore.open(template, { engine: ENGINE, readOnly: true });
  for (const m of Object.keys(MODELS)) {
    const info = await store.info(m);
    recordsOf.set(m, [info.architectureKey, ...info.tensors.map((t) => t.recordKey)]);
  }
  await store.close();
}

/** Records of model `name` that no other model uses. */
async function ownRecords(_dir: string, name: string): Promise<bigint[]> {
  const others = new Set(Object.keys(MODELS).filter((m) => m !== name).flatMap((m) => recordsOf.get(m)!));
  return recordsOf.get(name)!.filter((k) => !others.has(k));
}

function flipByte(file: string, offset: number): void {
  const b = readFileSync(file);
  b[offset] = b[offset]! ^ 0x5a;
  writeFileSync(file, b);
}

interface Cell {
  /** Models whose data the damage touched (they may fail, with CORRUPTION, until repaired or removed). */
  readonly hurt: readonly string[];
  /** True when every read fails with CORRUPTION until `repair` (a lost manifest). */
  readonly untilRepair?: boolean;
  /** True when `ls` reports CORRUPTION (a damaged catalog row). */
  readonly lsFails?: boolean;
}

const DAMAGE: Record<string, (dir: string) => Promise<Cell>> = {
  'segment header': async (dir) => {
    const seg = readdirSync(join(dir, 'segments')).sort()[1]!;
    flipByte(join(dir, 'segments', seg), 9);
    return { hurt: [] };
  },
  'record header': async (dir) => {
    const where = (await recordLocations(dir)).get((await ownRecords(dir, 'mid'))[1]!)!;
    flipByte(where.file, where.offset + 9); // inside the length field
    return { hurt: ['mid'] };
  },
  payload: async (dir) => {
    const where = (await recordLocations(dir)).get((await ownRecords(dir, 'm1'))[2]!)!;
    flipByte(where.file, where.offset + RECORD_HEADER_BYTES + Math.floor(where.length / 2));
    return { hurt: ['m1'] };
  },
  'truncated segment': async (dir) => {
    const where = (await recordLocations(dir)).get((await ownRecords(dir, 'l1'))[1]!)!;
    truncateSync(where.file, where.offset + 100);
    return { hurt: ['l1'] }; // and whoever had records past the cut: the test works that out

  },
  'segment file missing': async (dir) => {
    const where = (await recordLocations(dir)).get((await ownRecords(dir, 'l1'))[0]!)!;
    unlinkSync(where.file);
    return { hurt: ['l1'] }; // and whoever else had records in that file: the test works that out
  },
  'manifest missing': async (dir) => {
    unlinkSync(join(dir, 'MANIFEST'));
    return { hurt: [], untilRepair: true };
  },
  'manifest damaged': async (dir) => {
    flipByte(join(dir, 'MANIFEST'), 20);
    return { hurt: [], untilRepair: true };
  },
  'catalog row': async (dir) => {
    // One bit of m2's row as SQLite stores it (its format, 'safetensors' -> 'safetensorr'): without row
    // checksums the model would silently change. (Its name is served from the name index, so flip past it.)
    const file = join(dir, 'catalog.sqlite');
    const b = readFileSync(file);
    let found = 0;
    for (let at = b.indexOf('m2safetensors'); at >= 0; at = b.indexOf('m2safetensors', at + 1), found++) b[at + 12] = b[at + 12]! ^ 0x01;
    assert.ok(found > 0, 'found the row');
    writeFileSync(file, b);
    return { hurt: ['m2'], lsFails: true };
  },
};

/** Gets `name`: byte-exact, or a NeurStoreError. Never other bytes. */
async function getOrError(store: NeurStore, dir: string, name: string): Promise<'exact' | NeurStoreError> {
  const out = join(dir, '..', `${name}.out`);
  rmSync(out, { force: true });
  try {
    await store.get(name, out);
  } catch (e) {
    assert.ok(e instanceof NeurStoreError, `get ${name} throws a NeurStoreError, got ${String(e)}`);
    return e;
  }
  assert.ok(readFileSync(out).equals(original.get(name)!), `get ${name} returned wrong bytes`);
  return 'exact';
}

async function expectIntact(store: NeurStore, dir: string, names: Iterable<string>, when: string): Promise<void> {
  for (const name of names) {
    const r = await getOrError(store, dir, name);
    assert.equal(r, 'exact', `${when}: intact model ${name} reads back byte-exact (${r === 'exact' ? '' : r.message})`);
  }
}

for (const [place, damage] of Object.entries(DAMAGE)) {
  test(`damage: ${place}`, async () => {
    const dir = join(tempDir(), 'store');
    cpSync(template, dir, { recursive: true });
    // A truncation loses every record past the cut in that file: work out whose before cutting.
    const before = await recordLocations(dir);
    const cell = await damage(dir);
    const hurt = new Set(cell.hurt);
    if (place === 'truncated segment' || place === 'segment file missing') {
      const after = await recordLocations(dir);
      const lost = new Set([...before.keys()].filter((k) => !after.has(k)));
      for (const m of Object.keys(MODELS)) if (recordsOf.get(m)!.some((k) => lost.has(k))) hurt.add(m);
    }
    const intact = Object.keys(MODELS).filter((m) => !hurt.has(m));

    if (cell.untilRepair) {
      // A lost manifest: everything refuses with CORRUPTION, nothing is deleted, repair brings it all back.
      const segments = readdirSync(join(dir, 'segments')).sort();
      for (const readOnly of [true, false]) {
        await assert.rejects(NeurStore.open(dir, { engine: ENGINE, readOnly }), (e) => isNeurStoreError(e, 'CORRUPTION'));
      }
      assert.deepEqual(readdirSync(join(dir, 'segments')).sort(), segments, 'no segment deleted');
    } else {
      // Reads before repair: intact models exact, hurt ones CORRUPTION; ls/info/stats/verify keep working.
      const store = await NeurStore.open(dir, { engine: ENGINE, readOnly: true });
      for (const name of Object.keys(MODELS)) {
        const r = await getOrError(store, dir, name);
        if (hurt.has(name)) assert.ok(r !== 'exact' && r.code === 'CORRUPTION', `${name} is hurt: CORRUPTION, got ${r === 'exact' ? 'exact' : r.code}`);
        else assert.equal(r, 'exact', `${name} is intact`);
      }
      if (cell.lsFails) await assert.rejects(store.list(), (e) => isNeurStoreError(e, 'CORRUPTION'));
      else assert.deepEqual((await store.list()).map((m) => m.name).sort(), Object.keys(MODELS).sort());
      for (const name of intact) assert.equal((await store.info(name)).name, name);
      assert.equal((await store.stats()).models, 4);
      const v = await store.verify();
      assert.equal(v.ok, hurt.size === 0, `verify reports damage iff a model is hurt`);
      const named = new Set([...v.tensors.map((t) => t.model), ...v.catalog.map((c) => c.model ?? '')]);
      for (const m of intact) assert.ok(!named.has(m), `verify does not blame intact ${m}`);
      await store.close();

      // A put of a model sharing a hurt model's tensors stores fresh copies and reads back exact.
      const writer = await NeurStore.open(dir, { engine: ENGINE });
      const again = join(tmp, 'm1.safetensors');
      await writer.put(again, { name: `again-${place.replace(/\s/g, '-')}` });
      await expectIntact(writer, dir, intact, 'after a put');
      original.set(`again-${place.replace(/\s/g, '-')}`, original.get('m1')!);
      const healed = await getOrError(writer, dir, `again-${place.replace(/\s/g, '-')}`);
      assert.ok(healed === 'exact', `a fresh put of m1's file reads back exact (self-healing): ${healed === 'exact' ? '' : healed.message}`);
      if (hurt.has('m1') && place === 'payload') {
        // m1's damaged record was replaced by the put's fresh copy and m1 repointed to it: whole again.
        await expectIntact(writer, dir, ['m1'], 'self-healed');
        intact.push('m1');
      }

      // rm + gc: either reclaims or refuses with CORRUPTION; never deletes an intact model's record.
      for (const victim of ['mid', 'm2']) {
        try {
          await writer.remove(victim);
          intact.splice(intact.indexOf(victim) >>> 0, intact.includes(victim) ? 1 : 0);
        } catch (e) {
          assert.ok(isNeurStoreError(e, 'CORRUPTION') || isNeurStoreError(e, 'NOT_FOUND'), `rm ${victim}: ${(e as Error).message}`);
        }
      }
      await writer.gc().catch((e: unknown) => assert.ok(isNeurStoreError(e, 'CORRUPTION'), `gc fails only with CORRUPTION: ${(e as Error).message}`));
      await expectIntact(writer, dir, intact, 'after rm + gc');
      await writer.close();
    }

    // Repair: rebuilds what it can, reports the rest, and every intact model reads back exact.
    const report = await NeurStore.repair(dir, { engine: ENGINE });
    if (cell.untilRepair) assert.match(String(report.manifest.reason), /missing|damaged/);
    const blamed = new Set([...report.tensors.map((t) => t.model), ...report.catalog.map((c) => c.model ?? '')]);
    for (const m of intact) assert.ok(!blamed.has(m), `repair does not blame intact ${m}`);
    const store = await NeurStore.open(dir, { engine: ENGINE, readOnly: true });
    await expectIntact(store, dir, intact, 'after repair');
    await store.close();
  });
}

test('a put whose delta base is damaged stores the tensor against another base or alone, within the bound', async () => {
  const dir = join(tempDir(), 'store');
  const store = await NeurStore.init(dir, { engine: ENGINE });
  const w = new Float32Array(4096).map(() => rng.gaussian() * 0.02);
  const f32 = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer.slice(0));
  const tuned = w.map((v) => v + rng.gaussian() * 0.001);
  const basePath = await writeSafetensorsFile(join(tmp, 'lossy-base.safetensors'), [{ name: 'w', dtype: 'F32', shape: [64, 64], bytes: f32(w) }]);
  const tunedPath = await writeSafetensorsFile(join(tmp, 'lossy-tuned.safetensors'), [{ name: 'w', dtype: 'F32', shape: [64, 64], bytes: f32(tuned) }]);
  const base = await store.put(basePath, { name: 'base', tolerance: 1e-3 });
  await store.close();
  const where = (await recordLocations(dir)).get(base.tensors[0]!.recordKey)!;
  flipByte(where.file, where.offset + RECORD_HEADER_BYTES + Math.floor(where.length / 2));
  const again = await NeurStore.open(dir, { engine: ENGINE });
  const r = await again.put(tunedPath, { name: 'tuned', tolerance: 1e-3 });
  assert.notEqual(r.tensors[0]!.baseKey, base.tensors[0]!.recordKey, 'the damaged base is not used');
  const out = join(tmp, 'lossy-tuned.out');
  await again.get('tuned', out);
  const got = new Float32Array(new Uint8Array(readFileSync(out)).buffer.slice(readFileSync(out).length - 4096 * 4));
  assert.ok(got.every((v, i) => Math.abs(v - tuned[i]!) <= 1e-3), 'every element within the tolerance');
  await again.close();
});
