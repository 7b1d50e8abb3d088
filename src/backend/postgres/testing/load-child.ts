/**
 * Child process of postgres-load.test.ts: `ops` seeded operations on the store at argv[2] (child id argv[3]):
 * puts of models naming records drawn from a small shared set of keys (so processes store the same content
 * at once), gets checked byte-exact against the content each key stands for, removals, and gc. Exits 1 with a
 * message on any wrong byte, CORRUPTION or unexpected error.
 */
import { isNeurStoreError } from '../../../errors.js';
import { SeededRandom } from '../../../env/seeded-random.js';
import { PostgresBackend } from '../postgres-backend.js';

export const KEYS = 40;
/** The content record `key` stands for (a pure function of the key: every process agrees on it). */
export function content(key: bigint): Uint8Array {
  const rng = new SeededRandom(Number(key));
  return rng.bytes(1000 + rng.int(600_000));
}
export const keyOf = (i: number): bigint => BigInt(i) * 7919n + 1n;

async function main(url: string, id: number, ops: number): Promise<void> {
  const b = await PostgresBackend.open(url);
  const rng = new SeededRandom(id);
  const mine: string[] = [];
  try {
    for (let op = 0; op < ops; op++) {
      const roll = rng.int(10);
      if (roll < 4) {
        const keys = [...new Set([keyOf(rng.int(KEYS)), keyOf(rng.int(KEYS)), keyOf(rng.int(KEYS))])];
        const name = `p${id}-${op}`;
        await b.write(async (tx) => {
          await Promise.all(keys.map((k) => tx.records.append(k, content(k))));
          await tx.catalog.insertModel({
            name, format: 'safetensors', createdMs: op, bytesIn: 1, files: [`${name}.safetensors`], architectureKey: keys[0]!, mode: 'lossless',
            tolerance: 0, tensorCount: keys.length, storedBytes: 0, metadata: {}, tags: {},
          }, keys.map((k, index) => ({
            index, name: `t${index}`, dtype: 'U8', shape: [1], byteLength: 1, recordKey: k, storedAs: 'raw', codec: 'raw', depth: 0, storedBytes: 1, bits: 8, maxError: 0,
          })));
        });
        mine.push(name);
      } else if (roll < 7) {
        const names = await b.catalog.modelNames();
        if (!names.length) continue;
        const name = names[rng.int(names.length)]!;
        for (const t of await b.catalog.tensors(name)) {
          try {
            if (!Buffer.from(await b.records.get(t.recordKey)).equals(Buffer.from(content(t.recordKey)))) throw new Error(`wrong bytes in ${t.recordKey}`);
          } catch (e) {
            // A read races rm + gc of its model (readers are not locked out): NOT_FOUND only once the model is gone.
            if (!(isNeurStoreError(e, 'NOT_FOUND') && (await b.catalog.getModel(name)) === undefined)) throw e;
          }
        }
      } else if (roll < 9) {
        if (mine.length) await b.write((tx) => tx.catalog.deleteModel(mine.splice(rng.int(mine.length), 1)[0]!));
      } else {
        await b.write(async (tx) => {
          const live = await b.catalog.liveRecordKeys();
          return tx.records.reclaim((k) => live.has(k));
        }, { exclusive: true });
      }
    }
  } finally {
    await b.close();
  }
}

if (process.argv[1]?.endsWith('load-child.ts')) {
  main(process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])).catch((e: Error) => {
    process.stderr.write(`load child ${process.argv[3]}: ${e.message}\n`);
    process.exit(1);
  });
}
