/**
 * Garbage collection for worker threads that move large buffers. A worker allocates little on its own heap,
 * so V8 rarely collects there, and the buffers it posted or received (transferred chunks, shared decode
 * results) stay alive until it does: measured on a 1 GB put with two encode workers, peak RSS 927 MiB without
 * this, 398 MiB with a collection every 64 MiB of work (and the put 1.2x faster); with decode workers as well
 * (four workers), every 32 MiB: a 1 GB lossless fine-tune put peaked at 571 MiB with 64, 517 with 16.
 * Since the codecs work in reused memory (plane arena, stream scratch) and one set of workers serves both
 * pools (codec-workers.ts), far less is left behind per job: on the 1.08 GB bf16 fine-tune (put against its
 * base, then get; peak RSS / CPU s) every 32 MiB gave lossless 398 / 14.8 and 375 / 9.7, default mode
 * 403 / 29.3 and 386 / 15.2; every 128 MiB 384-389 / 14.0-14.3 and 383-388 / 8.3-9.3, 422 / 25.4 and
 * 397 / 13.5; none at all 401 / 12.2 and 371 / 8.7, 414 / 21.4 and 405 / 13.0 (but with separate pools, one
 * lossless put without it peaked at 598 MiB). The workers collect every 128 MiB: bounded, at less CPU.
 * `collectEvery(bytes)` returns a function to call after each job with the bytes it handled.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function collectEvery(bytes: number): (handled: number) => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let since = 0;
  return (handled) => {
    since += handled;
    if (since >= bytes) {
      since = 0;
      gc();
    }
  };
}
