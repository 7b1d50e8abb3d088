import Database from 'better-sqlite3';
import { readFileSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { NeurStore } from '../src/store/neur-store.js';
import { writeSafetensorsFile } from '../src/store/testing/safetensors-files.js';
async function main() {
  rmSync('/tmp/ct1', { recursive: true, force: true });
  const s = await NeurStore.init('/tmp/ct1');
  const p = await writeSafetensorsFile('/tmp/ct1.safetensors', [{ name: 'a', dtype: 'F32', shape: [4], bytes: new Uint8Array(16) }]);
  await s.put(p, { name: 'm1' }); await s.put(p, { name: 'm2' }); await s.close();
  const b = readFileSync('/tmp/ct1/catalog.sqlite');
  const hits: number[] = []; for (let at = b.indexOf('m2safetensors'); at >= 0; at = b.indexOf('m2safetensors', at + 1)) hits.push(at);
  console.log('hits', hits, 'm2 any', b.indexOf('m2'));
  for (const at of hits) b[at + 1] ^= 1;
  writeFileSync('/tmp/ct1/catalog.sqlite', b);
  const db = new Database('/tmp/ct1/catalog.sqlite', { readonly: true });
  console.log(db.prepare('select id, name, row_crc from models').all());
  console.log(db.prepare("select id, name from models where name = 'm2'").all());
  db.close();
  const s2 = await NeurStore.open('/tmp/ct1', { readOnly: true });
  console.log(await s2.info('m2').then((m) => m.name, (e) => e.message));
}
main();
