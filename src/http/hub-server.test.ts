/**
 * The hub server against the real `@huggingface/hub` client, unchanged, on 127.0.0.1: createRepo + uploadFiles
 * of a real model folder (MNIST safetensors, a human-models TF.js model with its shard, Silero ONNX, config,
 * model card), then listFiles, modelInfo, fileDownloadInfo and downloadFile give back the original bytes. Then
 * the wire details curl users see, with fetch: no redirects, Range 206/416, ETag and X-Repo-Commit, the error
 * codes (bad token, private repository, missing file or revision), path traversal, CORS, upload checks.
 * The oracle is always the original files' bytes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createRepo, downloadFile, fileDownloadInfo, listFiles, modelInfo, uploadFiles, whoAmI } from '@huggingface/hub';
import type { FastifyInstance } from 'fastify';
import { SHARED_MNIST_DIR, ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { join } from 'node:path';
import { tempDir } from '../store/testing/temp-dir.js';
import { Registry } from '../registry/registry.js';
import { createToken } from '../registry/tokens.js';
import { buildServer } from './server.js';

ensureFixtures();
const MNIST = join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors');
const FOLDER: Record<string, Buffer> = {
  'model.safetensors': readFileSync(MNIST),
  'tfjs/model.json': readFileSync(fixturePath('human-models', 'age.json')),
  'tfjs/age.bin': readFileSync(fixturePath('human-models', 'age.bin')),
  'onnx/model.onnx': readFileSync(fixturePath('vad-web', 'silero_vad_v5.onnx')),
  'config.json': Buffer.from('{"model_type":"mnist","hidden_size":128}\n'),
  'README.md': Buffer.from('---\nlicense: mit\nbase_model: org/mnist-base\n---\n# MNIST fine-tune\n'),
};

let reg: Registry;
let app: FastifyInstance;
let hubUrl: string;
let writer: string;
let reader: string;
let other: string;

before(async () => {
  reg = await Registry.open(tempDir(), { create: true, decodeWorkers: 0 });
  writer = (await createToken(reg.db, 'alice', 'write', 'org/*')).secret;
  reader = (await createToken(reg.db, 'bob', 'read', 'org/*')).secret;
  other = (await createToken(reg.db, 'carol', 'write', 'carol/*')).secret;
  app = await buildServer(reg, { anonymousRead: true });
  await app.listen({ host: '127.0.0.1', port: 0 });
  hubUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  await app.close();
  await reg.close();
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('@huggingface/hub: createRepo + uploadFiles, then listFiles, modelInfo, downloadFile give back the bytes', async () => {
  const repo = 'org/mnist-ft';
  const created = await createRepo({ repo, accessToken: writer, hubUrl });
  assert.equal(created.repoUrl, `${hubUrl}/${repo}`);
  await assert.rejects(createRepo({ repo, accessToken: writer, hubUrl }), /already created/);
  const commit = await uploadFiles({ repo, accessToken: writer, hubUrl, commitTitle: 'add model', files: Object.entries(FOLDER).map(([path, bytes]) => ({ path, content: new Blob([bytes]) })) });
  assert.match(commit!.commit.oid, /^[0-9a-f]{40}$/);

  const listed = [];
  for await (const f of listFiles({ repo, hubUrl, recursive: true, accessToken: reader })) listed.push(f);
  const files = listed.filter((f) => f.type === 'file');
  assert.deepEqual(files.map((f) => f.path).sort(), Object.keys(FOLDER).sort());
  for (const f of files) {
    assert.equal(f.size, FOLDER[f.path]!.length, f.path);
    if (f.lfs) assert.equal(f.lfs.oid, sha256(FOLDER[f.path]!), f.path);
  }
  assert.deepEqual(listed.filter((f) => f.type === 'directory').map((f) => f.path).sort(), ['onnx', 'tfjs']);

  const info = await modelInfo({ name: repo, hubUrl, accessToken: reader, additionalFields: ['sha'] });
  assert.equal(info.name, repo);
  assert.equal((info as unknown as { sha: string }).sha, commit!.commit.oid);

  for (const [path, bytes] of Object.entries(FOLDER)) {
    const blob = await downloadFile({ repo, path, hubUrl, accessToken: reader });
    assert.ok(blob, path);
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(bytes), `${path} comes back byte-identical`);
    const di = await fileDownloadInfo({ repo, path, hubUrl });
    assert.equal(di!.size, bytes.length);
  }
  assert.equal(await fileDownloadInfo({ repo, path: 'missing.txt', hubUrl }), null, 'EntryNotFound is null for the client');
  const who = await whoAmI({ accessToken: writer, hubUrl });
  assert.equal(who.name, 'alice');

  // The model files went through the tensor store; the others are blobs.
  const head = await reg.resolve(repo);
  const kinds = Object.fromEntries((await reg.files(head)).map((f) => [f.path, f.kind]));
  assert.deepEqual(kinds, { 'README.md': 'blob', 'config.json': 'blob', 'model.safetensors': 'model', 'onnx/model.onnx': 'model', 'tfjs/age.bin': 'model', 'tfjs/model.json': 'model' });
  assert.deepEqual(head.baseModels, ['org/mnist-base']);

  // A second upload of the same files is deduplicated: the LFS batch asks for no upload, the commit reuses them.
  const again = await uploadFiles({ repo: 'org/mnist-ft', accessToken: writer, hubUrl, branch: 'main', files: [{ path: 'copy/model.safetensors', content: new Blob([FOLDER['model.safetensors']!]) }] });
  assert.ok(again);
  const copy = await reg.file(await reg.resolve(repo), 'copy/model.safetensors');
  assert.equal(copy.ref, (await reg.file(head, 'model.safetensors')).ref);
});

test('wire details with fetch: Range, ETag, X-Repo-Commit, no redirect, errors with X-Error-Code', async () => {
  const repo = 'org/mnist-ft';
  const bytes = FOLDER['model.safetensors']!;
  const url = `${hubUrl}/${repo}/resolve/main/model.safetensors`;
  const full = await fetch(url, { redirect: 'error' });
  assert.equal(full.status, 200);
  assert.ok(Buffer.from(await full.arrayBuffer()).equals(bytes));
  assert.equal(full.headers.get('x-repo-commit'), (await reg.resolve(repo)).id);
  assert.equal(full.headers.get('etag'), `"${sha256(bytes)}"`);
  assert.equal(full.headers.get('x-linked-size'), String(bytes.length));
  assert.equal(full.headers.get('access-control-allow-origin'), '*');

  const part = await fetch(url, { headers: { Range: 'bytes=0-99' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 0-99/${bytes.length}`);
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(0, 100)));
  const tail = await fetch(url, { headers: { Range: 'bytes=-10' } });
  assert.ok(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 10)));
  const mid = await fetch(`${hubUrl}/${repo}/resolve/main/onnx/model.onnx`, { headers: { Range: 'bytes=1000000-1000099' } });
  assert.ok(Buffer.from(await mid.arrayBuffer()).equals(FOLDER['onnx/model.onnx']!.subarray(1000000, 1000100)));
  const bad = await fetch(url, { headers: { Range: `bytes=${bytes.length}-` } });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers.get('content-range'), `bytes */${bytes.length}`);

  const head = await fetch(url, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(bytes.length));
  const cached = await fetch(url, { headers: { 'If-None-Match': head.headers.get('etag')! } });
  assert.equal(cached.status, 304);

  const pinned = await fetch(`${hubUrl}/${repo}/resolve/${(await reg.resolve(repo)).id}/config.json`);
  assert.equal(await pinned.text(), FOLDER['config.json']!.toString());

  const expect = async (r: Promise<Response>, status: number, code: string) => {
    const res = await r;
    assert.equal(res.status, status, `${code}: ${await res.clone().text()}`);
    assert.equal(res.headers.get('x-error-code'), code);
    if (res.headers.get('content-type')?.includes('json')) assert.equal(typeof ((await res.json()) as { error: string }).error, 'string');
    return res;
  };
  const missing = await expect(fetch(`${hubUrl}/${repo}/resolve/main/nope.bin`), 404, 'EntryNotFound');
  assert.equal(missing.headers.get('x-repo-commit'), (await reg.resolve(repo)).id);
  await expect(fetch(`${hubUrl}/${repo}/resolve/v9/config.json`), 404, 'RevisionNotFound');
  await expect(fetch(`${hubUrl}/org/none/resolve/main/config.json`, { headers: { Authorization: `Bearer ${reader}` } }), 404, 'RepoNotFound');
  await expect(fetch(`${hubUrl}/org/none/resolve/main/config.json`), 401, 'RepoNotFound');
  const badToken = await expect(fetch(url, { headers: { Authorization: 'Bearer hf_notatoken' } }), 401, 'Unauthorized');
  assert.equal(badToken.headers.get('x-error-message'), 'Invalid credentials in Authorization header');
  await expect(fetch(`${hubUrl}/${repo}/resolve/main/..%2F..%2Fregistry.sqlite`), 400, 'BadRequest');
  await expect(fetch(`${hubUrl}/${repo}/resolve/main/tfjs/..%2F..%2Fetc`), 400, 'BadRequest');
  await expect(fetch(`${hubUrl}/api/models/${repo}/tree/main/..%2Fx`), 400, 'BadRequest');

  // Writes: no token 401, a read token or another namespace's 403.
  const file = { path: 'x.txt', content: new Blob(['x']) };
  await assert.rejects(uploadFiles({ repo, accessToken: reader, hubUrl, files: [file] }), /may not write/);
  await assert.rejects(uploadFiles({ repo, accessToken: other, hubUrl, files: [file] }), /may not write/);
  await expect(fetch(`${hubUrl}/api/models/${repo}/commit/main`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: '{"key":"header","value":{}}' }), 401, 'Unauthorized');
  // A commit naming an object never uploaded, a stale parent, an upload URL with a forged signature.
  const auth = { Authorization: `Bearer ${writer}`, 'Content-Type': 'application/x-ndjson' };
  const lfsLine = JSON.stringify({ key: 'lfsFile', value: { path: 'w.bin', algo: 'sha256', oid: 'a'.repeat(64), size: 3 } });
  await expect(fetch(`${hubUrl}/api/models/${repo}/commit/main`, { method: 'POST', headers: auth, body: `{"key":"header","value":{"summary":"s"}}\n${lfsLine}\n` }), 400, 'BadRequest');
  const stale = JSON.stringify({ key: 'header', value: { summary: 's', parentCommit: 'b'.repeat(40) } });
  await expect(fetch(`${hubUrl}/api/models/${repo}/commit/main`, { method: 'POST', headers: auth, body: `${stale}\n{"key":"file","value":{"path":"y.txt","content":"eQ==","encoding":"base64"}}\n` }), 412, 'PreconditionFailed');
  await expect(fetch(`${hubUrl}/api/neurstore/lfs-upload/${'c'.repeat(64)}?size=1&exp=9999999999&repo=org%2Fx&sig=00`, { method: 'PUT', body: 'x' }), 403, 'Forbidden');

  const pre = await fetch(`${hubUrl}/x`, { method: 'OPTIONS', headers: { Origin: 'http://app.example', 'Access-Control-Request-Headers': 'range,authorization' } });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get('access-control-allow-headers')!, /Range/);
});

test('private repositories: hidden from anonymous callers and from tokens that do not cover them', async () => {
  await createRepo({ repo: 'org/secret', accessToken: writer, hubUrl, private: true });
  await uploadFiles({ repo: 'org/secret', accessToken: writer, hubUrl, files: [{ path: 'config.json', content: new Blob(['{}']) }] });
  assert.equal((await fetch(`${hubUrl}/org/secret/resolve/main/config.json`)).status, 401);
  assert.equal((await fetch(`${hubUrl}/org/secret/resolve/main/config.json`, { headers: { Authorization: `Bearer ${other}` } })).status, 404);
  const ok = await fetch(`${hubUrl}/org/secret/resolve/main/config.json`, { headers: { Authorization: `Bearer ${reader}` } });
  assert.equal(await ok.text(), '{}');
  const spec = (await (await fetch(`${hubUrl}/api/neurstore/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
  assert.equal(spec.openapi, '3.1.0');
  assert.ok(spec.paths['/api/neurstore/models/{namespace}/{name}/lineage']);
  const tensors = (await (await fetch(`${hubUrl}/api/neurstore/models/org/mnist-ft/tensors?path=model.safetensors`)).json()) as { models: Array<{ tensors: unknown[]; format: string }> };
  assert.equal(tensors.models[0]!.format, 'safetensors');
  assert.ok(tensors.models[0]!.tensors.length > 0);
});

test('model files written straight onto the response: whole and in seeded ranges byte-exact, a client that goes away, an error before the first byte', async () => {
  const repo = 'org/mnist-ft';
  const get = (path: string, range?: string) => fetch(`${hubUrl}/${repo}/resolve/main/${path}`, { headers: range ? { Range: range } : {} });
  let x = 12345;
  const rand = (n: number) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
  for (const path of ['model.safetensors', 'tfjs/model.json', 'tfjs/age.bin', 'onnx/model.onnx']) {
    const bytes = FOLDER[path]!;
    const whole = await get(path);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-length'), String(bytes.length));
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(bytes), `${path} whole`);
    // Ranges of every size class: a byte, within a small chunk, across the 256 KiB batches, to the end.
    const ranges: Array<[number, number]> = [[0, 0], [bytes.length - 1, bytes.length - 1], [0, bytes.length - 1]];
    for (let i = 0; i < 12; i++) {
      const start = rand(bytes.length);
      const len = [1, 7, 300, 70_000, 300_000, bytes.length][i % 6]!;
      ranges.push([start, Math.min(bytes.length - 1, start + len - 1)]);
    }
    for (const [start, end] of ranges) {
      const r = await get(path, `bytes=${start}-${end}`);
      assert.equal(r.status, 206);
      assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/${bytes.length}`);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(start, end + 1)), `${path} bytes ${start}-${end}`);
    }
  }
  // A client that goes away after the first bytes: the server stops that download and serves the next ones.
  const gone = new AbortController();
  const res = await fetch(`${hubUrl}/${repo}/resolve/main/onnx/model.onnx`, { signal: gone.signal });
  await res.body!.getReader().read();
  gone.abort();
  assert.ok(Buffer.from(await (await get('onnx/model.onnx')).arrayBuffer()).equals(FOLDER['onnx/model.onnx']!));
  // The store model behind a file removed (damage): the error comes before any byte, as a proper error answer.
  await reg.store.remove((await reg.file(await reg.resolve(repo), 'tfjs/age.bin')).ref);
  const broken = await get('tfjs/age.bin');
  assert.equal(broken.status, 404);
  assert.ok(broken.headers.get('x-error-code'));
  assert.equal(broken.headers.get('content-range'), null);
  assert.match(((await broken.json()) as { error: string }).error, /hub\//);
});
