/**
 * Child process of postgres-store.test.ts: opens the store at argv[2], prints `ready`, waits for a line on
 * stdin, then puts the file argv[3] as model argv[4] (the parent starts several at once).
 */
import { NeurStore } from '../../../store/neur-store.js';

const store = await NeurStore.open(process.argv[2]!, { decodeWorkers: 0, encodeWorkers: 0 });
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.pause();
await store.put(process.argv[3]!, { name: process.argv[4]! });
await store.close();
