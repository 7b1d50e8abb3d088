import { NeurStore } from '../src/store/neur-store.js';
const s = await NeurStore.open('/tmp/lossy', { readOnly: true });
const info = await s.info('tuned');
const by = new Map<string, [number, number]>();
for (const t of info.tensors) { const k = t.storedAs; const v = by.get(k) ?? [0, 0]; v[0]++; v[1] += t.storedBytes; by.set(k, v); }
console.log([...by]);
console.log(info.tensors.slice(0, 6).map((t) => [t.name, t.storedAs, t.storedBytes, t.byteLength, t.bits.toFixed(2)]));
await s.close();
