/**
 * neurstore/finedex: the FINEdex learned index over 64-bit unsigned keys and values in shared memory.
 * `FineIndex` is the index (it satisfies the engine's `KeyIndex`); `RetrainWorker` moves model retraining to
 * a worker thread; `PairRun` carries sorted (key, value) columns as u32 halves for the allocation-free API.
 */
export { FineIndex, type FineIndexHandle, type FineIndexOptions, type FineIndexStats } from './fine-index.js';
export { RetrainWorker } from './retrain-worker.js';
export { PairRun, SeededRandom, cmp64, toBig, hiOf, loOf } from './u64.js';
export { fitSegments, type Segment } from './pla-fit.js';
