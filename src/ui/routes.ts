/**
 * The dashboard's routes under /ui (and `/` → /ui). Access is the server's own (`Access`, src/http/access.ts):
 * a page shows only what the request's token may read. A browser sends its token as an HttpOnly cookie set by
 * the login form; for GET/HEAD requests without an Authorization header the cookie is handed to `Access` as
 * `Authorization: Bearer ...`, so file downloads of private repositories work from the page too; for the
 * dashboard's own POSTs (delete a repository or a model, gc: each after a confirmation page; start a model's
 * tolerance sweep) only when the request comes from this origin. The token is never written into a page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from '../registry/registry.js';
import type { FileRow } from '../registry/registry-db.js';
import type { Access } from '../http/access.js';
import { answerOf, withStatus } from '../http/http-errors.js';
import { HubError, checkRepoId } from '../registry/hub-names.js';
import { findToken } from '../registry/tokens.js';
import { lineageGraph, lineageOf } from '../registry/lineage.js';
import type { StoredAs } from '../catalog/catalog.js';
import type { ModelInfo, StoreStats } from '../store/store-types.js';
import { BaseNames, sourceKey } from '../store/describe-model.js';
import { MODEL_SWEEP_TOLERANCES, sweepStoredModel } from '../store/model-sweep.js';
import { createHash } from 'node:crypto';
import { CSS, JS, repoPath } from './html.js';
import { confirmPage, lineagePage, loginPage, messagePage, modelHref, modelPage, overviewPage, repoHref, repoPage, tolerancePage, toleranceHref, type OverviewRow, type Savings, type SweepState, type TensorView } from './pages.js';

const COOKIE = 'neurstore_token';

const MECHANISM: Record<StoredAs, string> = {
  duplicate: 'exact dedup',
  delta: 'deltas', 'lossless-delta': 'deltas', 'paper-delta': 'deltas',
  lossless: 'lossless coding', raw: 'lossless coding',
  standalone: 'quantization', 'paper-base': 'quantization',
};

function cookieToken(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

type Q = Record<string, string | undefined>;

export function dashboardRoutes(app: FastifyInstance, reg: Registry, access: Access): void {
  app.addHook('onRequest', async (req) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && !req.headers.authorization) {
      const t = cookieToken(req);
      // A stale cookie (a deleted token) is ignored: the pages stay readable as anonymous and offer the login.
      if (t && /^hf_[A-Za-z0-9]+$/.test(t) && (await findToken(reg.db, t))) req.headers.authorization = `Bearer ${t}`;
    }
  });

  /** `check` passes (does not throw). */
  const may = async (check: () => unknown): Promise<boolean> => {
    try {
      await check();
      return true;
    } catch {
      return false;
    }
  };
  const loggedIn = async (req: FastifyRequest): Promise<boolean> => {
    try {
      return (await access.token(req)) !== undefined;
    } catch {
      return false;
    }
  };
  const canRead = (req: FastifyRequest, name: string): Promise<boolean> => may(() => access.readable(req, name));
  /** The names of `names` the request may read. */
  const readableOf = async (req: FastifyRequest, names: Iterable<string>): Promise<Set<string>> => {
    const out = new Set<string>();
    for (const n of names) if (await canRead(req, n)) out.add(n);
    return out;
  };
  /** Store-level access (totals, models outside any repository): as `GET /api/neurstore/stats`. */
  const storeReadable = async (req: FastifyRequest): Promise<void> => {
    const all = await reg.repos();
    if (all.length > 0 && (await readableOf(req, all.map((r) => r.name))).size === 0) await access.readable(req, all[0]!.name);
  };
  const html = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).header('Content-Type', 'text/html; charset=utf-8').header('Cache-Control', 'no-store')
      .header('X-Content-Type-Options', 'nosniff').header('Referrer-Policy', 'same-origin').send(body);
  /** Runs a page; an error becomes an HTML page with the API's status (401 offers the login form). */
  const guarded = <R extends FastifyRequest>(render: (req: R) => Promise<string>) => async (req: R, reply: FastifyReply) => {
    try {
      return html(reply, await render(req));
    } catch (e) {
      const a = answerOf(e);
      const extra = a.status === 401 ? '<p><a href="/ui/login">Log in with a token</a> to see this.</p>' : '';
      return html(reply, messagePage(a.status === 401 ? 'Log in needed' : `Error ${a.status}`, a.message, await loggedIn(req), extra), a.status);
    }
  };

  /**
   * Bytes saved per mechanism over every model (an aggregate: no model is named), from each tensor's row. Kept
   * until the store changes (its figures or its model names), so a store of 1,000 models reads them once.
   */
  let savingsCache: { key: string; value: Savings[] } | undefined;
  const savingsOf = async (models: ModelInfo[], stats: StoreStats): Promise<Savings[]> => {
    const key = createHash('sha256').update(JSON.stringify([stats, models.map((m) => [m.name, m.createdMs])])).digest('hex');
    if (savingsCache?.key === key) return savingsCache.value;
    const savings = new Map<string, number>(['exact dedup', 'deltas', 'lossless coding', 'quantization'].map((k) => [k, 0]));
    for (const m of models) {
      for (const t of (await reg.store.info(m.name)).tensors) {
        const k = MECHANISM[t.storedAs] ?? 'lossless coding';
        savings.set(k, savings.get(k)! + (t.byteLength - t.storedBytes));
      }
    }
    savingsCache = { key, value: [...savings].map(([mechanism, bytes]) => ({ mechanism, bytes })) };
    return savingsCache.value;
  };

  app.get('/', async (_req, reply) => reply.redirect('/ui'));
  app.get('/ui/assets/dashboard.css', async (_req, reply) => reply.header('Content-Type', 'text/css; charset=utf-8').header('Cache-Control', 'max-age=300').send(CSS));
  app.get('/ui/assets/dashboard.js', async (_req, reply) => reply.header('Content-Type', 'text/javascript; charset=utf-8').header('Cache-Control', 'max-age=300').send(JS));

  app.get('/ui', guarded(async (req: FastifyRequest<{ Querystring: Q }>) => {
    await storeReadable(req);
    const stats = await reg.store.stats();
    const models = await reg.store.list();
    const byName = new Map(models.map((m) => [m.name, m]));
    const rows: OverviewRow[] = [];
    const allRepos = await reg.repos();
    const mine = await readableOf(req, allRepos.map((x) => x.name));
    for (const r of allRepos.filter((x) => mine.has(x.name))) {
      const refTags = (await reg.refs(r.name)).filter((x) => x.kind === 'tag').map((x) => `tag:${x.name}`);
      let files: FileRow[] = [];
      try {
        files = await reg.files(await reg.resolve(r.name));
      } catch { /* no commit yet */ }
      const refs = new Set(files.filter((f) => f.kind === 'model').map((f) => f.ref));
      rows.push({
        kind: 'repository', name: r.name, href: repoHref(r.name), mode: r.mode, createdMs: r.createdMs,
        tensors: [...refs].reduce((n, m) => n + (byName.get(m)?.tensorCount ?? 0), 0),
        bytesIn: files.reduce((n, f) => n + f.size, 0),
        tags: [r.private ? 'private' : 'public', `mode:${r.mode}`, ...refTags],
      });
    }
    for (const m of models) {
      const holders = [...new Set((await reg.db.commitsWithModel(m.name)).map((c) => c.repo))];
      if (holders.length > 0 && (await readableOf(req, holders)).size === 0) continue;
      rows.push({
        kind: 'model', name: m.name, href: modelHref(m.name), mode: m.mode, createdMs: m.createdMs, tensors: m.tensorCount,
        bytesIn: m.bytesIn, storedBytes: m.storedBytes,
        tags: [`format:${m.format}`, `mode:${m.mode}`, ...Object.entries(m.tags).map(([k, v]) => `${k}=${v}`)],
      });
    }
    return overviewPage({ stats, rows, savings: await savingsOf(models, stats), q: req.query.q ?? '', tag: req.query.tag ?? '', loggedIn: await loggedIn(req), storeWriter: await may(() => storeWriter(req)) });
  }));

  /** A model's page is readable as the store (no repository holds it) or through one repository holding it; its holders. */
  const modelReadable = async (req: FastifyRequest, name: string): Promise<string[]> => {
    const holders = [...new Set((await reg.db.commitsWithModel(name)).map((c) => c.repo))];
    if (holders.length === 0) await storeReadable(req);
    else if ((await readableOf(req, holders)).size === 0) await access.readable(req, holders[0]!);
    return holders;
  };

  app.get('/ui/model', guarded(async (req: FastifyRequest<{ Querystring: Q }>) => {
    const name = req.query.name ?? '';
    const holders = await modelReadable(req, name);
    const info = await reg.store.info(name);
    const owners = new BaseNames(reg.store);
    const tensors: TensorView[] = [];
    for (const t of info.tensors) {
      const key = sourceKey(t);
      let base = key === undefined ? undefined : await owners.ownerOf(key);
      if (base && base.model !== name) {
        const baseHolders = [...new Set((await reg.db.commitsWithModel(base.model)).map((c) => c.repo))];
        if (baseHolders.length > 0 && (await readableOf(req, baseHolders)).size === 0) base = { model: '(a model you cannot read)', tensor: '' };
      }
      tensors.push({ ...t, base: base && !(base.model === name && base.tensor === t.name) ? base : undefined });
    }
    return modelPage({ model: info, maxError: info.maxError, tensors, repos: [...(await readableOf(req, holders))], loggedIn: await loggedIn(req), canDelete: holders.length === 0 && await may(() => storeWriter(req)) });
  }));

  app.get('/ui/repos/:ns/:name', guarded(async (req: FastifyRequest<{ Params: Record<string, string>; Querystring: Q }>) => {
    const repo = await access.readable(req, checkRepoId(`${req.params.ns}/${req.params.name}`));
    const rev = req.query.rev ?? 'main';
    const commit = await reg.resolve(repo.name, rev);
    const files = await reg.files(commit);
    const readmeRow = files.find((f) => f.path === 'README.md' && f.kind === 'blob' && f.size <= 1 << 20);
    const readme = readmeRow ? (await reg.fileBytes(readmeRow)).toString('utf8') : undefined;
    const storedBytes = new Map<string, number>();
    for (const ref of new Set(files.filter((f) => f.kind === 'model').map((f) => f.ref))) {
      const m = await reg.store.info(ref).catch(() => undefined);
      if (m) storedBytes.set(ref, m.storedBytes);
    }
    return repoPage({ repo, commit, rev, files, commits: await reg.log(repo.name, commit.id, 50), refs: await reg.refs(repo.name), readme, storedBytes, loggedIn: await loggedIn(req), canDelete: await may(() => access.writer(req, repo.name)) });
  }));

  app.get('/ui/lineage', guarded(async (req: FastifyRequest<{ Querystring: Q }>) => {
    const focus = req.query.repo ? (await access.readable(req, checkRepoId(req.query.repo))).name : undefined;
    if (!focus) await storeReadable(req);
    let g = await lineageGraph(reg);
    if (focus) g = lineageOf(g, focus);
    const local = new Set((await reg.repos()).map((r) => r.name));
    const mayRead = await readableOf(req, local);
    const visible = (n: string) => !local.has(n) || mayRead.has(n);
    return lineagePage({
      repos: g.repos.filter(visible), edges: g.edges.filter((e) => visible(e.base) && visible(e.child)), focus,
      local: new Set([...local].filter(visible)), loggedIn: await loggedIn(req),
    });
  }));

  // Writes from the page: a confirmation page (GET) whose form posts back with the name typed again. The cookie is
  // used here only for a POST from this origin (SameSite=Strict too); the write checks are Access's.
  const writerToken = (req: FastifyRequest) => {
    const origin = req.headers.origin;
    if (!origin || origin === 'null' || new URL(origin).host !== req.headers.host) throw withStatus(new HubError('NOT_FOUND', 'Forbidden', 'a write from another site (or without an Origin header)'), 403);
    const t = cookieToken(req);
    if (!req.headers.authorization && t) req.headers.authorization = `Bearer ${t}`;
  };
  /** Store-wide writes (gc, removing a model no repository holds) need a write token for every repository ('*'). */
  const storeWriter = async (req: FastifyRequest): Promise<void> => {
    const t = await access.token(req);
    if (!t) throw withStatus(new HubError('INVALID_ARGUMENT', 'Unauthorized', 'log in with a write token for every repository (--repo \'*\')'), 401);
    if (t.scope !== 'write' || t.repoPattern !== '*') throw withStatus(new HubError('NOT_FOUND', 'Forbidden', `token '${t.name}' may not change the whole store (needs write scope and --repo '*')`), 403);
  };
  const orphan = async (name: string): Promise<boolean> => (await reg.db.commitsWithModel(name)).length === 0;
  const post = <R extends FastifyRequest>(run: (req: R, reply: FastifyReply) => Promise<FastifyReply | string>) => async (req: R, reply: FastifyReply) => {
    try {
      writerToken(req);
      const out = await run(req, reply);
      return typeof out === 'string' ? html(reply, out) : out;
    } catch (e) {
      const a = answerOf(e);
      return html(reply, messagePage(`Error ${a.status}`, a.message, await loggedIn(req)), a.status);
    }
  };
  type Form = FastifyRequest<{ Params: Record<string, string>; Querystring: Q; Body: Record<string, string> | undefined }>;

  app.get('/ui/repos/:ns/:name/delete', guarded(async (req: Form) => {
    const name = checkRepoId(`${req.params.ns}/${req.params.name}`);
    await access.writer(req, name);
    return confirmPage(`Delete ${name}`, `Deletes the repository ${name}: its commits, branches and tags. Its model data stays in the store until a gc.`, `/ui/repos/${repoPath(name)}/delete`, name, 'Delete repository');
  }));
  app.post('/ui/repos/:ns/:name/delete', post(async (req: Form, reply) => {
    const name = checkRepoId(`${req.params.ns}/${req.params.name}`);
    await access.writer(req, name);
    if (req.body?.confirm !== name) throw new HubError('INVALID_ARGUMENT', 'BadRequest', `type the repository's name (${name}) to confirm`);
    await reg.deleteRepo(name);
    return reply.redirect('/ui', 303);
  }));
  app.get('/ui/model/delete', guarded(async (req: Form) => {
    const name = req.query.name ?? '';
    await storeWriter(req);
    if (!(await orphan(name))) throw new HubError('CONFLICT', 'BadRequest', `model '${name}' is held by a repository: delete the repository instead`);
    await reg.store.info(name);
    return confirmPage(`Delete model ${name}`, `Removes the model ${name} from the store; its space comes back at the next gc.`, `/ui/model/delete?name=${encodeURIComponent(name)}`, name, 'Delete model');
  }));
  app.post('/ui/model/delete', post(async (req: Form, reply) => {
    const name = req.query.name ?? '';
    await storeWriter(req);
    if (!(await orphan(name))) throw new HubError('CONFLICT', 'BadRequest', `model '${name}' is held by a repository: delete the repository instead`);
    if (req.body?.confirm !== name) throw new HubError('INVALID_ARGUMENT', 'BadRequest', 'type the model\'s name to confirm');
    await reg.store.remove(name);
    return reply.redirect('/ui', 303);
  }));
  app.get('/ui/gc', guarded(async (req) => {
    await storeReadable(req);
    await storeWriter(req);
    return confirmPage('Run gc', 'Rewrites the store\'s segments without the records no model uses any more.', '/ui/gc', 'gc', 'Run gc');
  }));
  app.post('/ui/gc', post(async (req: Form) => {
    await storeWriter(req);
    if (req.body?.confirm !== 'gc') throw new HubError('INVALID_ARGUMENT', 'BadRequest', 'type gc to confirm');
    const r = await reg.store.gc();
    return messagePage('gc done', `${r.recordsDropped} records dropped, ${r.bytesReclaimed} bytes reclaimed.`, true, '<p><a href="/ui">Back to the overview</a></p>');
  }));

  // The tolerance page: a model's sweep (sweepStoredModel: dry runs only, nothing stored, so reading the model is
  // enough to start one), run in the background one at a time per model; its result is kept in memory until the
  // store changes (its figures or its model names), as the overview's savings.
  const storeState = async (): Promise<string> =>
    createHash('sha256').update(JSON.stringify([await reg.store.stats(), (await reg.store.list()).map((m) => [m.name, m.createdMs])])).digest('hex');
  interface SweepJob { done: number; total: number; tolerance?: number; abort: AbortController; finished?: Promise<void> }
  const running = new Map<string, SweepJob>();
  const swept = new Map<string, { key: string; state: SweepState & { kind: 'done' | 'failed' } }>();
  const startSweep = (name: string): void => {
    if (running.has(name)) return;
    const job: SweepJob = { done: 0, total: MODEL_SWEEP_TOLERANCES.length, abort: new AbortController() };
    running.set(name, job);
    job.finished = (async () => {
      const key = await storeState();
      try {
        const sweep = await sweepStoredModel(reg.store, name, {
          tolerances: MODEL_SWEEP_TOLERANCES, signal: job.abort.signal,
          onProgress: (p) => Object.assign(job, { done: p.done, total: p.total, tolerance: p.tolerance }),
        });
        swept.set(name, { key, state: { kind: 'done', sweep, atMs: Date.now() } });
      } catch (e) {
        swept.set(name, { key, state: { kind: 'failed', message: answerOf(e).message, atMs: Date.now() } });
      }
    })().catch(() => { /* storeState failed: the page offers the sweep again */ }).finally(() => running.delete(name));
  };
  app.addHook('onClose', async () => {
    for (const job of running.values()) job.abort.abort();
    await Promise.allSettled([...running.values()].map((j) => j.finished));
  });
  app.get('/ui/tolerance', guarded(async (req: FastifyRequest<{ Querystring: Q }>) => {
    const name = req.query.name ?? '';
    await modelReadable(req, name);
    const model = await reg.store.info(name);
    const job = running.get(name);
    let state: SweepState = { kind: 'none' };
    if (job) state = { kind: 'running', done: job.done, total: job.total, tolerance: job.tolerance };
    else if (swept.has(name)) {
      if (swept.get(name)!.key === (await storeState())) state = swept.get(name)!.state;
      else swept.delete(name);
    }
    return tolerancePage({ model, state, tolerances: MODEL_SWEEP_TOLERANCES, loggedIn: await loggedIn(req) });
  }));
  app.post('/ui/tolerance', post(async (req: Form, reply) => {
    const name = req.query.name ?? '';
    await modelReadable(req, name);
    await reg.store.info(name);
    startSweep(name);
    return reply.redirect(toleranceHref(name), 303);
  }));

  app.get('/ui/login', guarded(async (req) => loginPage(undefined, await loggedIn(req))));
  app.post('/ui/login', async (req: FastifyRequest<{ Body: Record<string, string> | undefined }>, reply) => {
    const origin = req.headers.origin;
    if (origin && origin !== 'null' && new URL(origin).host !== req.headers.host) return html(reply, messagePage('Forbidden', 'a login from another site', false), 403);
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
    if (!/^hf_[A-Za-z0-9]+$/.test(token) || !(await findToken(reg.db, token))) return html(reply, loginPage('That token is not valid on this server.', false), 401);
    return reply.header('Set-Cookie', `${COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000`).redirect('/ui', 303);
  });
  app.post('/ui/logout', async (_req, reply) => reply.header('Set-Cookie', `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`).redirect('/ui', 303));
}
