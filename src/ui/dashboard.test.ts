/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against `buildServer` over a
 * registry holding real models (the MNIST family's base and a fine-tune of it, stored as lossy deltas of the base; the
 * human-models `age` and `gender` TF.js models; a private repository; a store model whose name and tags are
 * hostile HTML). Every page is opened; the oracle for the totals is `store.stats()`, for the tables
 * `store.info()` and the registry. Checks: content, non-empty SVG charts, no console errors, keyboard focus
 * reaching the search box, escaping (no injected element, no dialog), private data only after logging in, the
 * token never in the HTML, deleting a repository and a model and running gc from the page with a write token. Screenshots go to .cache/screenshots/; UPDATE_SCREENSHOTS=1 also copies them to docs/.
 * Outside CI a missing Chromium skips with the reason; in CI (CI=true) it fails.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, launchChromium } from './testing/browser.js';
import { PROJECT_ROOT, SHARED_MNIST_DIR, ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { MNIST_FAMILY_DIR, ensureMnistFamily } from '../../scripts/mnist-family.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { Registry } from '../registry/registry.js';
import { createToken } from '../registry/tokens.js';
import { buildServer } from '../http/server.js';

const skip = browserSkip();
const missing = skip !== false;

const HOSTILE = `<img src=x onerror=alert(1)>"'&<script>alert(2)</script>`;
let reg: Registry;
let app: FastifyInstance;
let base: string;
let browser: Browser;
let reader: string;
const consoleErrors: string[] = [];
const dialogs: string[] = [];

before(async () => {
  if (missing) return;
  ensureFixtures();
  await ensureMnistFamily(); // a trained MNIST base and fine-tunes of it (cached in .cache/)
  reg = await Registry.open(tempDir(), { create: true, decodeWorkers: 0 });
  reader = (await createToken(reg.db, 'bob', 'read', '*')).secret;
  const mnist = (f: string) => join(SHARED_MNIST_DIR, f);
  await reg.createRepo('org/mnist');
  await reg.commit('org/mnist', [
    { op: 'put', path: 'model.safetensors', file: join(MNIST_FAMILY_DIR, 'base.safetensors') },
    { op: 'put', path: 'README.md', bytes: Buffer.from('---\nlicense: mit\n---\n# MNIST base\n\nA **tiny** classifier. See [the docs](https://example.org/x) and [bad](javascript:alert(3)).\n\n- 28x28 inputs\n- 10 classes\n<script>alert(4)</script>\n') },
  ], { message: 'base checkpoint' });
  await reg.tag('org/mnist', 'v1');
  await reg.createRepo('org/mnist-ft', { mode: 'default', tolerance: 1e-3 });
  await reg.commit('org/mnist-ft', [
    { op: 'put', path: 'model.safetensors', file: join(MNIST_FAMILY_DIR, 'more-epochs.safetensors') },
    { op: 'put', path: 'README.md', bytes: Buffer.from('---\nbase_model: org/mnist\n---\n# MNIST fine-tune\n') },
  ], { message: 'fine-tune' });
  await reg.createRepo('org/age');
  await reg.commit('org/age', [
    { op: 'put', path: 'model.json', file: fixturePath('human-models', 'age.json') },
    { op: 'put', path: 'age.bin', file: fixturePath('human-models', 'age.bin') },
  ], { message: 'age model' });
  await reg.createRepo('secret/gender', { private: true });
  await reg.commit('secret/gender', [
    { op: 'put', path: 'model.json', file: fixturePath('human-models', 'gender.json') },
    { op: 'put', path: 'gender.bin', file: fixturePath('human-models', 'gender.bin') },
  ], { message: 'gender model' });
  await reg.store.put(mnist('model_6682ba5.safetensors'), { name: HOSTILE, tags: { team: '<b>x</b>', stage: 'dev' } });

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

async function open(path: string, page?: Page): Promise<Page> {
  const p = page ?? (await browser.newPage({ viewport: { width: 1100, height: 760 } }));
  p.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${path}: ${m.text()}`); });
  p.on('pageerror', (e) => consoleErrors.push(`${path}: ${e.message}`));
  p.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  const res = await p.goto(base + path);
  assert.equal(res?.status(), 200, path);
  return p;
}

/** Every <svg class=chart> holds drawn shapes with a size. */
async function chartsRender(p: Page, min: number): Promise<void> {
  const charts = await p.$$eval('svg.chart', (svgs) => svgs.map((s) => {
    const box = s.getBoundingClientRect();
    return { w: box.width, h: box.height, shapes: s.querySelectorAll('rect[width]:not([width="0.0"]), path, polygon').length };
  }));
  assert.ok(charts.length >= min, `${charts.length} charts`);
  for (const c of charts) assert.ok(c.w > 100 && c.h > 20 && c.shapes > 0, JSON.stringify(c));
}

async function screenshot(p: Page, name: string): Promise<void> {
  const dir = join(PROJECT_ROOT, '.cache', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await p.screenshot({ path: join(dir, name) });
  // The README's copies under docs/ change only when asked (UPDATE_SCREENSHOTS=1) or missing: no diff per test run.
  const docs = join(PROJECT_ROOT, 'docs', name);
  if (process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(docs)) copyFileSync(join(dir, name), docs);
}

test('overview: totals equal store.stats(), table of repositories and models, chart, search by keyboard, tag filter', { skip }, async () => {
  const p = await open('/ui');
  const stats = await reg.store.stats();
  for (const k of ['models', 'tensors', 'bytesIn', 'bytesOnDisk', 'ratio', 'dedupHits'] as const) {
    assert.equal(Number(await p.getAttribute(`[data-stat="${k}"]`, 'data-value')), stats[k], k);
  }
  const names = await p.$$eval('#overview tbody tr', (rows) => rows.map((r) => r.getAttribute('data-name')));
  for (const n of ['org/mnist', 'org/mnist-ft', 'org/age', HOSTILE]) assert.ok(names.includes(n), n);
  assert.ok(!names.includes('secret/gender'), 'a private repository is not listed without a token');
  assert.equal(names.filter((n) => n!.startsWith('hub/')).length, 3, 'the models of the three public repositories, not the private one');
  await chartsRender(p, 1);
  const saved = await p.$$eval('svg.chart text', (t) => t.map((x) => x.textContent));
  for (const m of ['exact dedup', 'deltas', 'lossless coding', 'quantization']) assert.ok(saved.includes(m), m);

  // The hostile name is text: no element of it, no dialog; the table shows it verbatim.
  assert.equal(await p.locator('#overview img').count(), 0);
  assert.equal(await p.locator('script').count(), 1);
  assert.ok((await p.locator('#overview').innerText()).includes(HOSTILE));
  assert.ok((await p.locator('#overview').innerText()).includes('team=<b>x</b>'));

  // Keyboard: Tab from the top of the page reaches the search box; typing filters the rows.
  let focused = '';
  for (let i = 0; i < 8 && focused !== 'q'; i++) {
    await p.keyboard.press('Tab');
    focused = String(await p.evaluate('document.activeElement?.name ?? ""'));
  }
  assert.equal(focused, 'q', 'Tab reaches the search box');
  await p.keyboard.type('mnist');
  const visible = await p.$$eval('#overview tbody tr:not([hidden])', (rows) => rows.map((r) => r.getAttribute('data-name')));
  assert.deepEqual(visible.sort(), ['org/mnist', 'org/mnist-ft']);
  await p.fill('input[name=q]', '');
  await p.selectOption('select[name=tag]', 'stage=dev');
  assert.deepEqual(await p.$$eval('#overview tbody tr:not([hidden])', (rows) => rows.map((r) => r.getAttribute('data-name'))), [HOSTILE]);
  await p.selectOption('select[name=tag]', '');
  // Sorting by a column from the keyboard: focus its button, Enter.
  await p.focus('th:has-text("Bytes in") button');
  await p.keyboard.press('Enter');
  const sizes = await p.$$eval('#overview tbody tr td:nth-child(5)', (c) => c.map((x) => Number(x.getAttribute('data-value'))));
  assert.deepEqual(sizes, [...sizes].sort((a, b) => a - b));
  await p.selectOption('select[name=tag]', '');
  await p.evaluate('window.scrollTo(0, 0)');
  await screenshot(p, 'dashboard-overview.png');
  await p.close();
});

test('model page: one row per tensor as store.info() says, bases named, bar chart and histogram render', { skip }, async () => {
  const ft = (await reg.files(await reg.resolve('org/mnist-ft'))).find((f) => f.kind === 'model')!.ref;
  const info = await reg.store.info(ft);
  const p = await open(`/ui/model?name=${encodeURIComponent(ft)}`);
  assert.equal(await p.locator('h1').innerText(), ft);
  const rows = await p.$$eval('#tensors tbody tr', (r) => r.map((x) => Array.from(x.querySelectorAll('td'), (c: { getAttribute(n: string): string | null; textContent: string | null }) => c.getAttribute('data-value') ?? c.textContent)));
  assert.equal(rows.length, info.tensors.length);
  for (const [i, t] of info.tensors.entries()) {
    assert.equal(rows[i]![0], t.name);
    assert.equal(rows[i]![3], t.storedAs);
    assert.equal(Number(rows[i]![5]), t.byteLength);
    assert.equal(Number(rows[i]![6]), t.storedBytes);
    assert.equal(Number(rows[i]![7]), t.maxError);
  }
  assert.ok(info.tensors.some((t) => t.storedAs === 'delta'), 'the fine-tune holds deltas');
  assert.ok((await p.locator('#tensors').innerText()).includes('hub/'), 'a delta names its base tensor\'s model');
  assert.equal(Number(await p.getAttribute('[data-stat="storedBytes"]', 'data-value')), info.storedBytes);
  await chartsRender(p, 2);
  // The TF.js age model (158 tensors) for the screenshot: many bars, a spread histogram.
  const age = (await reg.files(await reg.resolve('org/age'))).find((f) => f.kind === 'model')!.ref;
  await open(`/ui/model?name=${encodeURIComponent(age)}`, p);
  assert.equal(await p.locator('#tensors tbody tr').count(), (await reg.store.info(age)).tensors.length);
  await chartsRender(p, 2);
  await screenshot(p, 'dashboard-model.png');
  // The hostile store model's page: its name is the heading's text.
  await open(`/ui/model?name=${encodeURIComponent(HOSTILE)}`, p);
  assert.equal(await p.locator('h1').innerText(), HOSTILE);
  assert.equal(await p.locator('main img').count(), 0);
  await p.close();
});

test('repository page: files with working download links, README rendered safely, commits, branches and tags', { skip }, async () => {
  const p = await open('/ui/repos/org/mnist');
  const files = await p.$$eval('#files tbody tr td:first-child', (c) => c.map((x) => x.textContent));
  assert.deepEqual(files.sort(), ['README.md', 'model.safetensors']);
  const readme = p.locator('#readme');
  assert.equal(await readme.locator('h3').innerText(), 'MNIST base');
  assert.equal(await readme.locator('strong').innerText(), 'tiny');
  assert.equal(await readme.locator('li').count(), 2);
  assert.equal(await readme.locator('a[href="https://example.org/x"]').count(), 1);
  assert.equal(await readme.locator('a[href^="javascript"]').count(), 0);
  assert.equal(await readme.locator('script').count(), 0);
  assert.ok((await readme.innerText()).includes('<script>alert(4)</script>'));
  assert.ok((await p.locator('#commits').innerText()).includes('base checkpoint'));
  const refs = await p.locator('#refs').innerText();
  assert.match(refs, /branch\s+main/);
  assert.match(refs, /tag\s+v1/);
  const link = (await p.$$eval('#files tbody tr', (r) => r.map((x) => [x.querySelector('td')!.textContent, x.querySelector('a[download]')!.getAttribute('href')]))).find(([f]) => f === 'model.safetensors')![1]!;
  const res = await p.request.get(base + link);
  assert.equal(res.status(), 200);
  assert.deepEqual(Buffer.from(await res.body()), readFileSync(join(MNIST_FAMILY_DIR, 'base.safetensors')));
  await p.close();
});

test('lineage page: SVG graph with the repositories, the found edge labelled with the bytes saved', { skip }, async () => {
  const p = await open('/ui/lineage');
  await chartsRender(p, 1);
  const texts = await p.$$eval('svg.graph text', (t) => t.map((x) => x.textContent ?? ''));
  for (const n of ['org/mnist', 'org/mnist-ft', 'org/age']) assert.ok(texts.includes(n), n);
  assert.ok(!texts.includes('secret/gender'));
  assert.ok(texts.some((t) => / saved$/.test(t)), texts.join('|'));
  await open('/ui/lineage?repo=org%2Fmnist-ft', p);
  assert.match(await p.locator('#edges').innerText(), /org\/mnist\s+org\/mnist-ft\s+yes\s+\d+/);
  await p.close();
});

test('private repository: 401 page without a token; after logging in it is listed and readable; the token is in no page', { skip }, async () => {
  const p = await browser.newPage();
  p.on('pageerror', (e) => consoleErrors.push(e.message));
  const denied = await p.goto(`${base}/ui/repos/secret/gender`);
  assert.equal(denied?.status(), 401);
  assert.ok((await p.content()).includes('/ui/login'));
  await p.goto(`${base}/ui/login`);
  await p.fill('input[name=token]', 'hf_notavalidtokenatall0000000000000000');
  await p.click('button[type=submit]:has-text("Log in")');
  assert.match(await p.locator('[role=alert]').innerText(), /not valid/);
  await p.fill('input[name=token]', reader);
  await p.click('button[type=submit]:has-text("Log in")');
  await p.waitForURL(`${base}/ui`);
  const pages: string[] = [await p.content()];
  assert.ok((await p.$$eval('#overview tbody tr', (r) => r.map((x) => x.getAttribute('data-name')))).includes('secret/gender'));
  const res = await p.goto(`${base}/ui/repos/secret/gender`);
  assert.equal(res?.status(), 200);
  pages.push(await p.content());
  const link = await p.getAttribute('#files a[download]', 'href');
  assert.equal((await p.request.get(base + link!)).status(), 200, 'a download of a private file works with the login cookie');
  for (const html of pages) assert.ok(!html.includes(reader), 'the token is not in the page');
  await p.click('button:has-text("Log out")');
  assert.equal((await p.goto(`${base}/ui/repos/secret/gender`))?.status(), 401);
  // A stale cookie (a token deleted since) is ignored: public pages stay readable.
  await p.context().addCookies([{ name: 'neurstore_token', value: 'hf_stalestalestalestalestalestalestale00', url: base }]);
  assert.equal((await p.goto(`${base}/ui`))?.status(), 200);
  // A login posted from another site is refused.
  const cross = await p.request.post(`${base}/ui/login`, { form: { token: reader }, headers: { Origin: 'http://evil.example' }, maxRedirects: 0 });
  assert.equal(cross.status(), 403);
  await p.close();
});

test('writes from the page: a write token deletes a repository and a model after typing their names, then runs gc; a read token sees no such links', { skip }, async () => {
  const admin = (await createToken(reg.db, 'root', 'write', '*')).secret;
  const p = await browser.newPage();
  p.on('pageerror', (e) => consoleErrors.push(e.message));
  const login = async (token: string) => {
    await p.goto(`${base}/ui/login`);
    await p.fill('input[name=token]', token);
    await p.click('button[type=submit]:has-text("Log in")');
    await p.waitForURL(`${base}/ui`);
  };
  await login(reader);
  assert.equal(await p.locator('#gc').count(), 0);
  await p.goto(`${base}/ui/repos/org/age`);
  assert.equal(await p.locator('#delete').count(), 0);
  assert.equal((await p.goto(`${base}/ui/repos/org/age/delete`))?.status(), 403);

  await login(admin);
  await p.goto(`${base}/ui/repos/org/age`);
  await p.click('#delete');
  await p.fill('input[name=confirm]', 'org/wrong');
  await p.click('button:has-text("Delete repository")');
  assert.match(await p.locator('main').innerText(), /to confirm/);
  assert.ok((await reg.repos()).some((r) => r.name === 'org/age'), 'a wrong confirmation deletes nothing');
  await p.goto(`${base}/ui/repos/org/age/delete`);
  await p.fill('input[name=confirm]', 'org/age');
  await p.click('button:has-text("Delete repository")');
  await p.waitForURL(`${base}/ui`);
  assert.ok(!(await reg.repos()).some((r) => r.name === 'org/age'));
  assert.ok(!(await p.$$eval('#overview tbody tr', (r) => r.map((x) => x.getAttribute('data-name')))).includes('org/age'));

  await p.goto(`${base}/ui/model?name=${encodeURIComponent(HOSTILE)}`);
  await p.click('#delete');
  await p.fill('input[name=confirm]', HOSTILE);
  await p.click('button:has-text("Delete model")');
  await p.waitForURL(`${base}/ui`);
  assert.ok(!(await reg.store.list()).some((m) => m.name === HOSTILE));
  // A repository's model is removed with its repository, not alone.
  const held = (await reg.files(await reg.resolve('org/mnist'))).find((f) => f.kind === 'model')!.ref;
  await p.goto(`${base}/ui/model?name=${encodeURIComponent(held)}`);
  assert.equal(await p.locator('#delete').count(), 0);

  const before = await reg.store.stats();
  await p.goto(`${base}/ui`);
  await p.click('#gc');
  await p.fill('input[name=confirm]', 'gc');
  await p.click('button:has-text("Run gc")');
  assert.match(await p.locator('main').innerText(), /gc done.*\d+ bytes reclaimed/s);
  await p.goto(`${base}/ui`);
  const after = await reg.store.stats();
  assert.ok(after.bytesOnDisk < before.bytesOnDisk, `${after.bytesOnDisk} < ${before.bytesOnDisk}`);
  assert.equal(Number(await p.getAttribute('[data-stat="bytesOnDisk"]', 'data-value')), after.bytesOnDisk);
  // A write posted from another site is refused even with the cookie.
  const cross = await p.request.post(`${base}/ui/gc`, { form: { confirm: 'gc' }, headers: { Origin: 'http://evil.example' }, maxRedirects: 0 });
  assert.equal(cross.status(), 403);
  assert.ok(!(await p.content()).includes(admin));
  await p.close();
});

test('no console errors and no dialogs on any page', { skip }, () => {
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(dialogs, []);
});
