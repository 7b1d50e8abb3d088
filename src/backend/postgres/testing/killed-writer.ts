/**
 * Child process of postgres-failures.test.ts: opens the store at argv[2], and in one write appends records,
 * names them in the (uncommitted) catalog transaction, starts a large append, prints `ready` and waits to be
 * killed with SIGKILL. Its records are seeded (SeededRandom(argv[3])) so the parent knows them.
 */
import { SeededRandom } from '../../../env/seeded-random.js';
import { PostgresBackend } from '../postgres-backend.js';

const backend = await PostgresBackend.open(process.argv[2]!);
const rng = new SeededRandom(Number(process.argv[3]));
await backend.write(async (tx) => {
  const keys: bigint[] = [];
  for (let i = 0; i < 5; i++) {
    const key = rng.u64();
    await tx.records.append(key, rng.bytes(100_000));
    keys.push(key);
  }
  await tx.catalog.insertModel({
    name: 'killed', format: 'safetensors', createdMs: 1, bytesIn: 1, files: ['killed.safetensors'], architectureKey: keys[0]!,
    mode: 'lossless', tolerance: 0, tensorCount: 0, storedBytes: 0, metadata: {}, tags: {},
  }, []);
  void tx.records.append(rng.u64(), rng.bytes(12 * 1024 * 1024));
  process.stdout.write('ready\n');
  await new Promise(() => undefined); // killed here
});
