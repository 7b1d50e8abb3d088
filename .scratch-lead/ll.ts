import { NeurStore } from '../src/store/neur-store.js';
import { rmSync } from 'node:fs';
rmSync('/tmp/ll', { recursive: true, force: true });
const s = await NeurStore.init('/tmp/ll');
for (const [f, n] of [['.cache/scale/llm-1024m.safetensors', 'base'], ['.cache/scale/llm-1024m-ft.safetensors', 'tuned']]) {
  const t = Date.now();
  const r = await s.put(f!, { name: n! });
  console.log(n, Date.now() - t, 'ms', 'stored', r.storedBytes, 'maxRSS', process.resourceUsage().maxRSS >> 10);
}
await s.close();
