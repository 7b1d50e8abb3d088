import { readdirSync, rmSync, openSync, readSync, fstatSync, closeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { NeurStore } from '../src/store/neur-store.js';
import { fixturePath } from '../scripts/fetch-fixtures.js';
function scan(dir: string): string | null {
  for (const n of readdirSync(join(dir, 'segments'))) {
    const fd = openSync(join(dir, 'segments', n), 'r'); const size = fstatSync(fd).size;
    let at = 16; const h = Buffer.alloc(24);
    while (at + 24 <= size) {
      readSync(fd, h, 0, 24, at); const len = h.readUInt32LE(8);
      const p = Buffer.alloc(len); readSync(fd, p, 0, len, at + 24);
      if (crc32(p) !== h.readUInt32LE(4)) { closeSync(fd); return `${n}@${at} len ${len} kind ${p[1]} codec ${p[2]}`; }
      at += 24 + len;
    }
    closeSync(fd);
  }
  return null;
}
rmSync('/tmp/dbg4', { recursive: true, force: true });
const store = await NeurStore.init('/tmp/dbg4');
for (const f of readdirSync(fixturePath('human-models', '')).filter((n) => n.endsWith('.json'))) {
  const r = await store.put(fixturePath('human-models', f), { name: f });
  const bad = scan('/tmp/dbg4');
  if (bad) { console.log('after', f, r.tensors.filter((t) => t.codec === 'chunked').map((t) => t.name + ':' + t.byteLength), bad); break; }
}
await store.close();
