/**
 * Worker threads for TypeScript source and compiled JavaScript alike: `spawnWorker(new URL('./x.worker.js',
 * import.meta.url))` runs `x.worker.ts` through tsx when the caller is TypeScript source (tests, tsx) and
 * `x.worker.js` from dist/ otherwise. Node 20 workers do not inherit `--import tsx` from execArgv, so the
 * TypeScript case boots through a tiny eval script that registers tsx's ESM API first.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function spawnWorker(jsUrl: URL, options: WorkerOptions = {}): Worker {
  const isTs = jsUrl.href.endsWith('.js') && import.meta.url.endsWith('.ts');
  if (!isTs) return new Worker(jsUrl, options);
  const url = new URL(jsUrl.href.replace(/\.js$/, '.ts'));
  const api = import.meta.resolve('tsx/esm/api');
  const boot =
    `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })` +
    '.catch((e) => { console.error(e); process.exit(1); });';
  return new Worker(boot, { ...options, eval: true });
}
