/**
 * The dashboard's tolerance page in a real browser (Debian's Chromium via playwright-core, set up as
 * dashboard.test.ts does) against `buildServer` over a registry holding the MNIST family's base (lossless), a
 * fine-tune of it stored lossy at tolerance 1e-3, and a private TF.js model. The fine-tune's sweep is started from
 * the page and awaited by polling the page (it reloads itself while the sweep runs); the oracle of its table is
 * `sweepTolerances` run in the test on the bytes the store gives back, in an empty store. Checks: the curve (one
 * point per tolerance), the chosen tolerance marked (or "lossless"), the result kept until the store changes, no
 * console errors; a model only a private repository holds: 401 for an anonymous GET and POST, 403 for a POST
 * from another site, no sweep started. Outside CI a missing Chromium skips with the reason; in CI it fails.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, launchChromium } from './testing/browser.js';
import { PROJECT_ROOT, SHARED_MNIST_DIR, ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { MNIST_FAMILY_DIR, ensureMnistFamily } from '../../scripts/mnist-family.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { NeurStore } from '../store/neur-store.js';
import { MODEL_SWEEP_TOLERANCES } from '../store/model-sweep.js';
import { sweepTolerances } from '../store/tolerance-sweep.js';
import type { ModelInfo } from '../store/store-types.js';
import { Registry } from '../registry/registry.js';
import { createToken } from '../registry/tokens.js';
import { buildServer } from '../http/server.js';
import { tolerancePage } from './pages.js';

const skip = browserSkip();
const missing = skip !== false;

let reg: Registry;
let app: FastifyInstance;
let base: string;
let browser: Browser;
let reader: string;
const consoleErrors: string[] = [];
const modelOf = async (repo: string) => (await reg.files(await reg.resolve(repo))).find((f) => f.kind === 'model')!.ref;
const tolHref = (name: string) => `/ui/tolerance?name=${encodeURIComponent(name)}`;

before(async () => {
  if (missing) return;
  ensureFixtures();
  await ensureMnistFamily();
  reg = await Registry.open(tempDir(), { create: true, decodeWorkers: 0 });
  reader = (await createToken(reg.db, 'bob', 'read', '*')).secret;
  await reg.createRepo('org/mnist');
  await reg.commit('org/mnist', [{ op: 'put', path: 'model.safetensors', file: join(MNIST_FAMILY_DIR, 'base.safetensors') }], { message: 'base' });
  await reg.createRepo('org/mnist-ft', { mode: 'default', tolerance: 1e-3 });
  await reg.commit('org/mnist-ft', [{ op: 'put', path: 'model.safetensors', file: join(MNIST_FAMILY_DIR, 'more-epochs.safetensors') }], { message: 'fine-tune' });
  await reg.createRepo('secret/gender', { private: true });
  await reg.commit('secret/gender', [
    { op: 'put', path: 'model.json', file: fixturePath('human-models', 'gender.json') },
    { op: 'put', path: 'gender.bin', file: fixturePath('human-models', 'gender.bin') },
  ], { message: 'gender model' });
  app = await buildServer(reg, { anonymousRead: true });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await reg?.close();
});

async function newPage(): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  p.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${p.url()}: ${m.text()}`); });
  p.on('pageerror', (e) => consoleErrors.push(`${p.url()}: ${e.message}`));
  p.on('dialog', (d) => { consoleErrors.push(`dialog: ${d.message()}`); void d.dismiss(); });
  return p;
}

/** Clicks "Run the sweep" and polls the page (it reloads itself while the sweep runs) until the table is there. */
async function runSweep(p: Page): Promise<void> {
  await p.click('#run-sweep');
  await p.locator('#sweep').waitFor({ state: 'attached', timeout: 300_000 });
}

/** What the page must show: the model as the store gives it back, swept directly in an empty store. */
async function expectedRows(name: string) {
  const dir = tempDir();
  const info = await reg.store.info(name);
  const [file] = await reg.store.get(name, join(dir, 'model', info.files[0]!));
  const store = await NeurStore.init(join(dir, 'store'), { decodeWorkers: 0 });
  try {
    return await sweepTolerances(store, file!, { mode: 'default', tolerances: MODEL_SWEEP_TOLERANCES, seed: 0 });
  } finally {
    await store.close();
  }
}

async function tableRows(p: Page): Promise<number[][]> {
  return p.$$eval('#sweep tbody tr', (rows) => rows.map((r) => Array.from(r.querySelectorAll('td'), (c: { getAttribute(n: string): string | null }) => Number(c.getAttribute('data-value')))));
}

test('tolerance page of a lossy fine-tune: started from the page, curve and table equal a direct sweep of its stored bytes, its 1e-3 marked; kept until the store changes', { skip }, async () => {
  const ft = await modelOf('org/mnist-ft');
  const p = await newPage();
  await p.goto(`${base}/ui/model?name=${encodeURIComponent(ft)}`);
  await p.click('#tolerance-link');
  await p.waitForURL(`${base}${tolHref(ft)}`);
  assert.equal(await p.locator('svg.curve').count(), 0);
  assert.match(await p.locator('#lossy-note').innerText(), /stored values/);
  await runSweep(p);

  const expected = await expectedRows(ft);
  const rows = await tableRows(p);
  assert.deepEqual(rows, expected.map((r) => [r.tolerance, r.ratio, r.storedBytes, r.maxError]));
  assert.ok(expected.every((r) => Number.isFinite(r.ratio) && r.ratio > 1), JSON.stringify(expected));
  const svg = p.locator('svg.curve');
  assert.equal(await svg.getAttribute('data-points'), String(MODEL_SWEEP_TOLERANCES.length));
  const d = await svg.locator('path.line').getAttribute('d');
  assert.equal(d!.match(/[ML]/g)!.length, MODEL_SWEEP_TOLERANCES.length, d!);
  assert.equal(await svg.locator('circle.point').count(), MODEL_SWEEP_TOLERANCES.length);
  const box = await svg.boundingBox();
  assert.ok(box && box.width > 100 && box.height > 100, JSON.stringify(box));
  assert.equal(await svg.locator('.chosen[data-chosen="0.001"]').count(), 1, 'the model\'s tolerance is marked');
  assert.match((await svg.locator('.chosen text').textContent()) ?? '', /1e-3/);
  assert.deepEqual(await p.$$eval('#sweep tr.chosen td:first-child', (c) => c.map((x) => Number(x.getAttribute('data-value')))), [1e-3]);
  assert.equal(await p.locator('meta[http-equiv="refresh"]').count(), 0, 'a finished sweep stops the reloads');
  await p.evaluate('window.scrollTo(0, 0)');
  await screenshot(p, 'dashboard-tolerance.png');

  // Kept: another visit shows the table at once; after the store changes, the sweep is offered again.
  const again = await newPage();
  await again.goto(`${base}${tolHref(ft)}`);
  assert.deepEqual(await tableRows(again), rows);
  await reg.store.put(join(SHARED_MNIST_DIR, 'model_6682ba5.safetensors'), { name: 'another' });
  await again.reload();
  assert.equal(await again.locator('#sweep').count(), 0);
  assert.equal(await again.locator('#run-sweep').innerText(), 'Run the sweep');
  await again.close();
  await p.close();
});

test('a lossless model\'s sweep is marked lossless', { skip }, async () => {
  const m = await modelOf('org/mnist');
  const p = await newPage();
  await p.goto(`${base}${tolHref(m)}`);
  assert.equal(await p.locator('#lossy-note').count(), 0);
  await runSweep(p);
  assert.deepEqual(await tableRows(p), (await expectedRows(m)).map((r) => [r.tolerance, r.ratio, r.storedBytes, r.maxError]));
  assert.equal(await p.locator('svg.curve .chosen[data-chosen="lossless"]').count(), 1);
  assert.match((await p.locator('svg.curve .chosen').textContent()) ?? '', /lossless/);
  assert.equal(await p.locator('#sweep tr.chosen').count(), 0);
  await p.close();
});

test('a model only a private repository holds: anonymous requests can neither see nor start its sweep', { skip }, async () => {
  const gender = await modelOf('secret/gender');
  const anon = await browser.newContext();
  const get = await anon.request.get(`${base}${tolHref(gender)}`);
  assert.equal(get.status(), 401);
  assert.ok(!(await get.text()).includes(gender), 'the page does not name the model');
  const post = await anon.request.post(`${base}${tolHref(gender)}`, { form: { run: '1' }, headers: { Origin: base }, maxRedirects: 0 });
  assert.equal(post.status(), 401);
  const cross = await anon.request.post(`${base}${tolHref(gender)}`, { form: { run: '1' }, headers: { Origin: 'http://evil.example' }, maxRedirects: 0 });
  assert.equal(cross.status(), 403);
  await anon.close();
  // With a read token the page is there, and no sweep was started by the refused POSTs.
  const p = await newPage();
  await p.context().addCookies([{ name: 'neurstore_token', value: reader, url: base }]);
  assert.equal((await p.goto(`${base}${tolHref(gender)}`))?.status(), 200);
  assert.equal(await p.locator('#sweep-progress').count(), 0);
  assert.equal(await p.locator('#run-sweep').innerText(), 'Run the sweep');
  assert.ok(!(await p.content()).includes(reader), 'the token is not in the page');
  await p.close();
});

test('a running sweep shows tolerance i of n with a progress bar and reloads itself; escaping', () => {
  const model = { name: '<b>x</b>', format: 'safetensors', mode: 'lossless', tolerance: 0, bytesIn: 10, files: ['m.safetensors'] } as unknown as ModelInfo;
  const html = tolerancePage({ model, state: { kind: 'running', done: 2, total: 5, tolerance: 1e-3 }, tolerances: MODEL_SWEEP_TOLERANCES, loggedIn: false });
  assert.match(html, /tolerance 3 of 5 \(1e-3\)/);
  assert.match(html, /<progress id="sweep-progress" max="5" value="2">/);
  assert.match(html, /<meta http-equiv="refresh" content="1">/);
  assert.ok(!html.includes('<b>x</b>'));
  const idle = tolerancePage({ model, state: { kind: 'none' }, tolerances: MODEL_SWEEP_TOLERANCES, loggedIn: false });
  assert.ok(!idle.includes('http-equiv'));
  assert.match(idle, /1e-5, 1e-4, 1e-3, 1e-2, 1e-1/);
});

test('no console errors and no dialogs on the tolerance pages', { skip }, () => {
  assert.deepEqual(consoleErrors, []);
});

async function screenshot(p: Page, name: string): Promise<void> {
  const dir = join(PROJECT_ROOT, '.cache', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await p.screenshot({ path: join(dir, name) });
  const docs = join(PROJECT_ROOT, 'docs', name);
  if (process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(docs)) copyFileSync(join(dir, name), docs);
}
