// Property tests with a seeded generator: random valid files (any dtype, shapes with zeros and scalars, odd
// names, shuffled keys and fields, random whitespace and padding, metadata) read to the oracle's tensors and
// round-trip byte-exactly; random corruptions of them are either read or rejected with INVALID_ARGUMENT,
// never another error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNeurStoreError } from '../../errors.js';
import { memorySink, memorySource } from '../byte-source.js';
import { SAFETENSORS_DTYPES, safetensorsByteLength } from './safetensors-dtype.js';
import { safetensorsFormat } from './safetensors-format.js';
import { readSafetensors } from './safetensors-reader.js';
import { writeSafetensors, writeSafetensorsVerbatim } from './safetensors-writer.js';
import { SeededRandom } from '../../env/seeded-random.js';

const pick = <T>(r: SeededRandom, xs: readonly T[]): T => xs[r.int(xs.length)];
function shuffle<T>(r: SeededRandom, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

function sameBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length);
  assert.ok(view(actual).equals(view(expected)), message ?? `bytes differ (${actual.length} vs ${expected.length})`);
}

interface Oracle {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

const NAME_PARTS = ['w', 'layer.0.bias', '0', '17', 'é', '𝛼', 'a"b', 'c\\d', 'x/y', ' ', 'tab\t', '__meta'];

function randomName(r: SeededRandom, used: Set<string>): string {
  for (;;) {
    const name = Array.from({ length: 1 + r.int(3) }, () => pick(r, NAME_PARTS)).join('');
    if (!used.has(name) && name !== '__metadata__') return used.add(name), name;
  }
}

function randomShape(r: SeededRandom, dtype: string): [number[], number] {
  for (;;) {
    const shape = Array.from({ length: r.int(4) }, () => (r.next() < 0.15 ? 0 : 1 + r.int(5)));
    try {
      return [shape, safetensorsByteLength(dtype, shape.reduce((a, d) => a * d, 1))];
    } catch {
      // a sub-byte dtype whose element count does not fill whole bytes: draw again
    }
  }
}

const ws = (r: SeededRandom) => pick(r, ['', '', '', ' ', '\n', '\t', '  ']);

function entryJson(r: SeededRandom, t: Oracle): string {
  const fields = shuffle(r, [
    `"dtype":${ws(r)}"${t.dtype}"`,
    `"shape":${ws(r)}[${t.shape.join(`,${ws(r)}`)}]`,
    `"data_offsets":[${t.begin},${ws(r)}${t.end}]`,
  ]);
  if (r.next() < 0.1) fields.push('"extra":{"ignored":[1,2]}');
  return `{${ws(r)}${fields.join(`,${ws(r)}`)}${ws(r)}}`;
}

/** A random valid file and the oracle of its tensors (in data order) and data buffer. */
function randomFile(r: SeededRandom): { bytes: Uint8Array; tensors: Oracle[]; data: Uint8Array } {
  const used = new Set<string>();
  const tensors: Oracle[] = [];
  let offset = 0;
  for (let i = r.int(9); i > 0; i--) {
    const dtype = pick(r, SAFETENSORS_DTYPES);
    const [shape, size] = randomShape(r, dtype);
    tensors.push({ name: randomName(r, used), dtype, shape, begin: offset, end: offset + size });
    offset += size;
  }
  const entries = shuffle(r, tensors.map((t) => `${JSON.stringify(t.name)}:${ws(r)}${entryJson(r, t)}`));
  if (r.next() < 0.4) entries.splice(r.int(entries.length + 1), 0, `"__metadata__":{"k":"v","format":${JSON.stringify(pick(r, NAME_PARTS))}}`);
  const header = Buffer.from(`{${ws(r)}${entries.join(`,${ws(r)}`)}${ws(r)}}${' '.repeat(r.int(8))}`, 'utf8');
  const data = Uint8Array.from({ length: offset }, () => r.int(256));
  const bytes = new Uint8Array(8 + header.length + offset);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
  bytes.set(header, 8);
  bytes.set(data, 8 + header.length);
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { bytes, tensors, data };
}

test('random valid files read to their oracle and round-trip byte-exactly (seeded)', async () => {
  const r = new SeededRandom(20261122);
  const seen = { empty: 0, scalar: 0, subByte: 0, metadata: 0, numericName: 0, noTensors: 0 };
  for (let iter = 0; iter < 300; iter++) {
    const { bytes, tensors, data } = randomFile(r);
    const file = await readSafetensors(memorySource(bytes));
    seen.empty += tensors.filter((t) => t.begin === t.end).length;
    seen.scalar += tensors.filter((t) => t.shape.length === 0).length;
    seen.subByte += tensors.filter((t) => t.dtype.startsWith('F4') || t.dtype.startsWith('F6')).length;
    seen.metadata += file.header.metadata ? 1 : 0;
    seen.numericName += tensors.filter((t) => /^\d+$/.test(t.name)).length;
    seen.noTensors += tensors.length === 0 ? 1 : 0;
    assert.deepEqual(file.header.tensors.map((t) => [t.name, t.dtype, t.shape, t.begin, t.end]),
      tensors.map((t) => [t.name, t.dtype, t.shape, t.begin, t.end]), `iteration ${iter}`);
    for (let i = 0; i < tensors.length; i++) {
      sameBytes(await file.tensors[i].read(), data.subarray(tensors[i].begin, tensors[i].end), `iteration ${iter} tensor ${i}`);
    }
    const out = memorySink();
    await writeSafetensorsVerbatim(file.headerBytes, (i) => file.tensors[i].read(), out);
    sameBytes(out.bytes(), bytes, `iteration ${iter}`);

    const canonical = memorySink();
    const specs = file.header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.end - t.begin }));
    await writeSafetensors(specs, (i) => file.tensors[i].read(), canonical, file.header.metadata);
    const again = await readSafetensors(memorySource(canonical.bytes()));
    assert.equal(again.dataOffset % 8, 0);
    assert.deepEqual(again.header.tensors, file.header.tensors, `iteration ${iter}: canonical export keeps the layout`);
    assert.deepEqual(again.header.metadata, file.header.metadata);
  }
  for (const [k, v] of Object.entries(seen)) assert.ok(v > 0, `the generator never produced ${k}: ${JSON.stringify(seen)}`);
});

test('random valid files round-trip through safetensorsFormat (seeded)', async () => {
  const r = new SeededRandom(7);
  for (let iter = 0; iter < 50; iter++) {
    const { bytes } = randomFile(r);
    const source = { files: ['m.safetensors'], open: async () => memorySource(bytes) };
    assert.equal(await safetensorsFormat.detect(source), true);
    const layout = await safetensorsFormat.read(source);
    const written = new Map<string, Uint8Array>();
    const sink = {
      async create(file: string) {
        const s = memorySink();
        return { write: (c: Uint8Array) => s.write(c), close: async () => void written.set(file, s.bytes()) };
      },
    };
    await safetensorsFormat.write({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i].read() }, sink);
    assert.deepEqual([...written.keys()], ['m.safetensors']);
    sameBytes(written.get('m.safetensors')!, bytes, `iteration ${iter}`);
  }
});

test('random corruptions are read or rejected with INVALID_ARGUMENT, nothing else (seeded)', async () => {
  const r = new SeededRandom(99);
  let rejected = 0;
  for (let iter = 0; iter < 400; iter++) {
    const { bytes } = randomFile(r);
    const bad = bytes.slice(0, r.next() < 0.2 ? r.int(bytes.length + 1) : bytes.length);
    const headerEnd = Math.min(bad.length, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)));
    for (let k = 1 + r.int(3); k > 0 && headerEnd > 0; k--) bad[r.int(headerEnd)] = pick(r, [0x22, 0x7b, 0x7d, 0x2c, 0x5b, 0x31, 0xff, r.int(256)]);
    try {
      const file = await readSafetensors(memorySource(bad));
      for (const t of file.tensors) assert.equal((await t.read()).length, t.byteLength);
    } catch (e) {
      assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), `iteration ${iter}: ${String(e)}`);
      rejected++;
    }
  }
  assert.ok(rejected > 100, `only ${rejected} corruptions were caught`);
});
