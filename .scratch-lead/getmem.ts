import { NeurStore } from '../src/store/neur-store.js';
import { existsSync, rmSync } from 'node:fs';
const [file, mode, workers] = process.argv.slice(2);
if (mode === 'put') {
  rmSync('/tmp/getmem', { recursive: true, force: true });
  const s = await NeurStore.init('/tmp/getmem', { encodeWorkers: Number(workers), decodeWorkers: Number(workers) });
  const t = Date.now();
  await s.put(file!, { name: 'm' });
  console.log('put', Date.now() - t, 'ms maxRSS', process.resourceUsage().maxRSS >> 10);
  await s.close();
} else {
  const s = await NeurStore.open('/tmp/getmem', { decodeWorkers: Number(workers), readOnly: true });
  const t = Date.now();
  if (existsSync('/tmp/getmem.out')) rmSync('/tmp/getmem.out');
  await s.get('m', '/tmp/getmem.out');
  console.log('get', Date.now() - t, 'ms maxRSS', process.resourceUsage().maxRSS >> 10);
  await s.close();
}
