import { NeurStore } from '../src/store/neur-store.js';
import { rmSync } from 'node:fs';
rmSync('/tmp/lossy', { recursive: true, force: true });
const s = await NeurStore.init('/tmp/lossy');
for (const [f, n] of [['.cache/scale/llm-1024m.safetensors', 'base'], ['.cache/scale/llm-1024m-ft.safetensors', 'tuned']]) {
  const t = Date.now();
  const r = await s.put(f!, { name: n!, tolerance: 1e-3 });
  console.log(n, Date.now() - t, 'ms', 'stored', r.storedBytes, 'maxErr', r.maxError, 'maxRSS', process.resourceUsage().maxRSS >> 10);
}
const t = Date.now(); await s.get('tuned', '/tmp/lossy.out'); console.log('get', Date.now() - t, 'ms maxRSS', process.resourceUsage().maxRSS >> 10);
await s.close();
