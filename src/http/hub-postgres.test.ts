/**
 * `neurstore serve` on a PostgreSQL store, two servers over one database (as N stateless servers behind a load
 * balancer): @huggingface/hub creates a repository and uploads a real model through server A; server B lists the
 * files and downloadFile gives back the original bytes; a token created on A works on B (whoAmI), a read token may
 * not write, and a wrong token is refused by both. Then two server processes (each with its own TMPDIR) over one
 * database, as behind a load balancer without sticky sessions: uploadFiles whose LFS PUTs go to one server and
 * whose commit goes to the other, both ways; every file downloads byte-identical from both, and the uploads in
 * flight are gone from the database once committed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRepo, downloadFile, listFiles, uploadFiles, whoAmI } from '@huggingface/hub';
import { pgFixture } from '../backend/postgres/testing/pg-fixture.js';
import { SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';
import { Registry } from '../registry/registry.js';
import { createToken } from '../registry/tokens.js';
import { buildServer } from './server.js';

const fx = await pgFixture('src/http/hub-postgres.test.ts');
const MODEL = readFileSync(join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors'));

if (fx) {
  test('two hub servers over one PostgreSQL store: upload through A, list and download byte-identical through B, tokens on both', async () => {
    const url = await fx.freshUrl();
    const servers: Array<{ reg: Registry; hubUrl: string }> = [];
    for (let i = 0; i < 2; i++) {
      const reg = await Registry.open(url, { create: true, decodeWorkers: 0 });
      const app = await buildServer(reg, { anonymousRead: false });
      await app.listen({ host: '127.0.0.1', port: 0 });
      after(async () => { await app.close(); await reg.close(); });
      servers.push({ reg, hubUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` });
    }
    const [a, b] = servers as [typeof servers[0], typeof servers[0]];
    const writer = (await createToken(a.reg.db, 'alice', 'write', 'org/*')).secret;
    const reader = (await createToken(a.reg.db, 'bob', 'read', 'org/mnist')).secret;

    const repo = 'org/mnist';
    await createRepo({ repo, accessToken: writer, hubUrl: a.hubUrl });
    await assert.rejects(createRepo({ repo, accessToken: writer, hubUrl: b.hubUrl }), /already created/, 'B sees the repository A created');
    const config = Buffer.from('{"model_type":"mnist"}');
    await uploadFiles({ repo, accessToken: writer, hubUrl: a.hubUrl, commitTitle: 'add model', files: [
      { path: 'model.safetensors', content: new Blob([MODEL]) }, { path: 'config.json', content: new Blob([config]) },
    ] });

    const listed = [];
    for await (const f of listFiles({ repo, hubUrl: b.hubUrl, accessToken: reader })) listed.push(f);
    assert.deepEqual(listed.map((f) => [f.path, f.size]).sort(), [['config.json', config.length], ['model.safetensors', MODEL.length]]);
    for (const [path, bytes] of [['model.safetensors', MODEL], ['config.json', config]] as const) {
      const blob = await downloadFile({ repo, path, hubUrl: b.hubUrl, accessToken: reader });
      assert.ok(blob, path);
      assert.ok(Buffer.from(await blob.arrayBuffer()).equals(bytes), `${path} from server B is byte-identical`);
    }
    assert.equal((await whoAmI({ accessToken: reader, hubUrl: b.hubUrl })).name, 'bob', 'a token made on A works on B');
    await assert.rejects(uploadFiles({ repo, accessToken: reader, hubUrl: b.hubUrl, files: [{ path: 'x.txt', content: new Blob(['x']) }] }), 'a read token may not write');
    for (const s of servers) {
      await assert.rejects(downloadFile({ repo, path: 'config.json', hubUrl: s.hubUrl, accessToken: 'hf_wrongwrongwrongwrongwrongwrongwrongwro' }), 'a wrong token is refused');
    }
  });
}

/** A server in a child process over `location` (its own TMPDIR): its base URL and a stop function. */
async function serverProcess(location: string): Promise<{ hubUrl: string; stop: () => Promise<void> }> {
  const tmp = mkdtempSync(join(tmpdir(), 'neurstore-hub-child-'));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./testing/serve-child.ts', import.meta.url)), location],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: tmp } });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server process exited with ${code} before listening`)));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  return { hubUrl: `http://127.0.0.1:${port}`, stop };
}

/** Seeded bytes that do not compress: a file over several 4 MiB pages. */
function noise(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n + 3);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out.subarray(0, n);
}

if (fx) {
  test('two server processes over one PostgreSQL store: LFS PUTs to one server, the commit to the other (no sticky sessions), byte-identical from both', async () => {
    const url = await fx.freshUrl();
    const reg = await Registry.open(url, { create: true, decodeWorkers: 0 });
    const writer = (await createToken(reg.db, 'alice', 'write', 'org/*')).secret;
    await reg.close();
    const a = await serverProcess(url);
    after(() => a.stop());
    const b = await serverProcess(url);
    after(() => b.stop());

    const repo = 'org/split';
    await createRepo({ repo, accessToken: writer, hubUrl: a.hubUrl });
    const files = {
      'model.safetensors': MODEL,
      'weights.bin': noise(9 * 1024 * 1024 + 123, 7), // not a model: a blob of three 4 MiB pages, uploaded in three pages
      'config.json': Buffer.from('{"model_type":"mnist"}'),
    };
    // The LFS PUT goes to the server the commit does not: the upload URL's origin is swapped.
    const splitFetch = (putTo: string, puts: string[]): typeof fetch => (input, init) => {
      let target = input instanceof Request ? input.url : String(input);
      if (target.includes('/api/neurstore/lfs-upload/')) {
        target = putTo + target.slice(new URL(target).origin.length);
        puts.push(target);
        return fetch(target, init);
      }
      return fetch(input, init);
    };
    const putsToB: string[] = [];
    await uploadFiles({ repo, accessToken: writer, hubUrl: a.hubUrl, fetch: splitFetch(b.hubUrl, putsToB), commitTitle: 'PUTs to B, commit to A',
      files: Object.entries(files).map(([path, bytes]) => ({ path, content: new Blob([bytes]) })) });
    assert.equal(putsToB.length, 2, 'the two binary files went through LFS PUTs to server B');
    assert.equal((await fx.sql(url, 'SELECT count(*)::int AS n FROM neurstore.hub_uploads')).rows[0].n, 0, 'the commit consumed the uploads in flight');
    assert.equal((await fx.sql(url, 'SELECT count(*)::int AS n FROM neurstore.hub_upload_pages')).rows[0].n, 0, 'and their pages');

    // And the other way: PUT to A, commit to B, a file changed.
    const changed = noise(5 * 1024 * 1024, 11);
    const putsToA: string[] = [];
    await uploadFiles({ repo, accessToken: writer, hubUrl: b.hubUrl, fetch: splitFetch(a.hubUrl, putsToA), commitTitle: 'PUT to A, commit to B',
      files: [{ path: 'weights-2.bin', content: new Blob([changed]) }] });
    assert.equal(putsToA.length, 1);
    const expected: Record<string, Buffer> = { ...files, 'weights-2.bin': changed };

    for (const s of [a, b]) {
      for (const [path, bytes] of Object.entries(expected)) {
        const blob = await downloadFile({ repo, path, hubUrl: s.hubUrl, accessToken: writer });
        assert.ok(blob, path);
        assert.ok(Buffer.from(await blob.arrayBuffer()).equals(bytes), `${path} from ${s.hubUrl} is byte-identical`);
      }
      const r = await fetch(`${s.hubUrl}/${repo}/resolve/main/weights.bin`, { headers: { Authorization: `Bearer ${writer}`, Range: 'bytes=4194300-8388612' } });
      assert.equal(r.status, 206);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(files['weights.bin'].subarray(4194300, 8388613)), 'a range across page boundaries is byte-exact');
    }
  });
}
