/**
 * The worker thread behind `ModelHost`: it opens the store read-only, keeps one `ModelRunner` per (model, load
 * mode) and answers each request on its port, then raises the shared flag so the blocked caller wakes. It
 * exists because SQL engines call user functions synchronously while ONNX Runtime and the store are async.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { NeurStore } from '../store/neur-store.js';
import { openRunner, type ModelRunner } from './model-runner.js';
import type { HostReply, HostRequest } from './model-host.js';
import type { LoadMode } from '../runtime/load-forms.js';

const { port, flag, storeDir } = workerData as { port: MessagePort; flag: Int32Array; storeDir: string };

function reply(r: HostReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(r, transfer);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

// A worker that dies must still wake its caller, which then reports the failure instead of waiting forever.
process.on('exit', () => {
  Atomics.store(flag, 0, -1);
  Atomics.notify(flag, 0);
});

const runners = new Map<string, Promise<ModelRunner>>();
let storePromise: Promise<NeurStore> | undefined;

function runnerOf(model: string, mode: LoadMode): Promise<ModelRunner> {
  const key = `${model}\0${mode}`;
  let r = runners.get(key);
  if (!r) {
    storePromise ??= NeurStore.open(storeDir, { readOnly: true, decodeWorkers: 0 });
    r = storePromise.then((s) => openRunner(s, model, mode));
    r.catch(() => runners.delete(key));
    runners.set(key, r);
  }
  return r;
}

async function handle(req: HostRequest): Promise<void> {
  try {
    if (req.op === 'close') {
      for (const r of runners.values()) await (await r.catch(() => undefined))?.close();
      runners.clear();
      if (storePromise) await (await storePromise).close();
      reply({ ok: true });
      port.close();
      return;
    }
    const runner = await runnerOf(req.model, req.mode);
    if (req.op === 'open') return reply({ ok: true, features: runner.features, rowShape: [...runner.rowShape] });
    const { scores, perRow } = await runner.run(req.x, req.rows);
    const copy = scores.slice();
    reply({ ok: true, scores: copy, perRow }, [copy.buffer]);
  } catch (e) {
    const err = e as Error & { code?: string };
    reply({ ok: false, code: err.code, message: err.message ?? String(e) });
  }
}

port.on('message', (req: HostRequest) => void handle(req));
