/**
 * `neurstore serve` on a PostgreSQL store, two servers over one database (as N stateless servers behind a load
 * balancer): @huggingface/hub creates a repository and uploads a real model through server A; server B lists the
 * files and downloadFile gives back the original bytes; a token created on A works on B (whoAmI), a read token may
 * not write, and a wrong token is refused by both.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
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
