/**
 * Synchronous model calls for SQL engines. DuckDB and SQLite call user functions synchronously (better-sqlite3
 * requires it; DuckDB's node API blocks its thread on the JS callback), but the store and ONNX Runtime are
 * async. A `ModelHost` runs them on a worker thread that opens the store read-only; `run` posts a batch to it
 * and blocks on a shared flag (Atomics.wait) until the answer is there, reading it with receiveMessageOnPort.
 * Each model is loaded on first use, once per (model, load mode), and kept until `close`.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { NeurStoreError, type ErrorCode } from '../errors.js';
import { spawnWorker } from '../env/spawn-worker.js';
import type { LoadMode } from '../runtime/load-forms.js';

export type HostRequest =
  | { op: 'open'; model: string; mode: LoadMode }
  | { op: 'run'; model: string; mode: LoadMode; x: Float32Array; rows: number }
  | { op: 'close' };

export type HostReply =
  | { ok: true; features?: number | null; rowShape?: (number | string)[]; scores?: Float32Array; perRow?: number }
  | { ok: false; code?: string; message: string };

/** How long a reply that was signalled may take to arrive before the worker counts as gone. */
const REPLY_GRACE_MS = 10_000;

const ERROR_CODES = new Set(['NOT_FOUND', 'INVALID_ARGUMENT', 'CORRUPTION', 'NOT_SUPPORTED', 'IO_ERROR', 'CONFLICT']);

/** What a model takes, as the host learned when loading it. */
export interface HostedModel {
  readonly features: number | null;
  readonly rowShape: readonly (number | string)[];
}

export class ModelHost {
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  /** Never notified: waiting on it is a sleep. */
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private readonly models = new Map<string, HostedModel>();
  private closed = false;

  /** Starts the worker over the store in `storeDir` (opened read-only on first use). */
  constructor(storeDir: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = spawnWorker(new URL('./model-host.worker.js', import.meta.url), {
      workerData: { port: port2, flag: this.flag, storeDir }, transferList: [port2],
    });
    this.worker.unref();
  }

  /** Loads (once) model `model` in `mode`; throws the store's error (NOT_FOUND, NOT_SUPPORTED...) if it cannot run. */
  model(model: string, mode: LoadMode): HostedModel {
    const key = `${model}\0${mode}`;
    let m = this.models.get(key);
    if (!m) {
      const r = this.call({ op: 'open', model, mode });
      m = { features: r.features ?? null, rowShape: r.rowShape ?? [] };
      this.models.set(key, m);
    }
    return m;
  }

  /** Scores `rows` feature vectors (back to back in `x`, which is handed over: do not reuse it). */
  run(model: string, mode: LoadMode, x: Float32Array, rows: number): { scores: Float32Array; perRow: number } {
    const r = this.call({ op: 'run', model, mode, x, rows }, [x.buffer as ArrayBuffer]);
    return { scores: r.scores!, perRow: r.perRow! };
  }

  private call(req: HostRequest, transfer: ArrayBuffer[] = []): Extract<HostReply, { ok: true }> {
    if (this.closed) throw new NeurStoreError('CONFLICT', 'the model host is closed');
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage(req, transfer);
    // A loop: the worker's notify of the previous call can land after this wait began (it raced its own store).
    while (Atomics.load(this.flag, 0) === 0) Atomics.wait(this.flag, 0, 0);
    let msg = receiveMessageOnPort(this.port)?.message as HostReply | undefined;
    // The flag can be seen before the message reaches this port's queue: wait for it, a millisecond at a time.
    for (let waited = 0; !msg && Atomics.load(this.flag, 0) === 1 && waited < REPLY_GRACE_MS; waited++) {
      Atomics.wait(this.pause, 0, 0, 1);
      msg = receiveMessageOnPort(this.port)?.message as HostReply | undefined;
    }
    if (!msg) throw new Error(`the model worker stopped before answering (${req.op}${'model' in req ? ` '${req.model}'` : ''})`);
    if (!msg.ok) {
      if (msg.code && ERROR_CODES.has(msg.code)) throw new NeurStoreError(msg.code as ErrorCode, msg.message);
      throw new Error(msg.message);
    }
    return msg;
  }

  /** Releases every model, closes the store and ends the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.call({ op: 'close' });
    } finally {
      this.closed = true;
      this.port.close();
      await this.worker.terminate();
    }
  }
}
