/**
 * Test support: a second process that writes to a store while the test reads it.
 * argv: STORE_DIR FILE... — puts every file as model `m<i>`, removes the even ones, runs gc, puts them back.
 */
import { NeurStore } from '../neur-store.js';

const [dir, ...files] = process.argv.slice(2);
const store = await NeurStore.open(dir!);
for (const [i, f] of files.entries()) await store.put(f, { name: `m${i}` });
for (let i = 0; i < files.length; i += 2) await store.remove(`m${i}`);
await store.gc();
for (let i = 0; i < files.length; i += 2) await store.put(files[i]!, { name: `m${i}` });
await store.close();
process.stdout.write('done\n');
