/**
 * The NeurStore library API. `NeurStore` is the facade; the rest is what its callers need to name in types,
 * plug in (Env, Backend) or use on their own (the format readers and writers).
 */
export { NeurStore, validateName, type OpenOptions } from './store/neur-store.js';
export type { GcOptions, GcResult, GetOptions, ModelDetails, ModelInfo, ProgressFn, PutOptions, StoreStats } from './store/store-types.js';
export { NeurStoreError, isNeurStoreError, type ErrorCode } from './errors.js';
export type { Env, EnvFile } from './env/env.js';
export { NodeEnv } from './env/node-env.js';
export { MemoryEnv } from './env/memory-env.js';
export { FaultEnv, type FaultOptions } from './env/fault-env.js';
export type { Catalog, CatalogTx, ModelRow, TensorRow } from './catalog/catalog.js';
export type { Backend, BackendStats, BackendTx, Damage, RecordStore, RecordWriter, WriteOptions } from './backend/backend.js';
export { openBackend, type BackendOptions } from './backend/open-backend.js';
export { SqliteBackend, type SqliteBackendOptions } from './backend/sqlite/sqlite-backend.js';
export { SqliteCatalog } from './backend/sqlite/sqlite-catalog.js';
export type { KeyIndex } from './engine/key-index.js';
export type { FormatName, ModelFormat, ModelLayout, ModelSink, ModelSource, StoredModel, TensorEntry } from './formats/model-format.js';
export type { DType } from './formats/dtype.js';
export { safetensorsFormat } from './formats/safetensors/safetensors-format.js';
export { writeSafetensors } from './formats/safetensors/safetensors-writer.js';
export { tfjsFormat } from './formats/tfjs/tfjs-format.js';
export { onnxFormat } from './formats/onnx/onnx-format.js';
export { ggufFormat } from './formats/gguf/gguf-format.js';
export { memoryModelSink, memoryModelSource } from './formats/memory-model-source.js';
export type { LoadOptions } from './store/model-loader.js';
export type { OnnxSessionLoadOptions } from './store/store-types.js';
export {
  LOAD_MODES, loadedBytes, loadedValues, reconstruct, type LoadMode, type LoadedTensor, type QuantDelta,
} from './runtime/load-forms.js';
export type { Quant8 } from './codecs/quant8.js';
export { BASE_CACHE_BYTES, type BaseCacheStats } from './runtime/base-cache.js';
export type { OnnxSession, OnnxSessionOptions } from './runtime/onnx-session.js';
export type { TfjsModel } from './runtime/tfjs-model.js';
export { rewriteWithQdq, type QdqWeight, type QdqCandidate } from './runtime/onnx-qdq.js';
export { DenseFamily, type DenseModel, type DenseWeight } from './runtime/dense-family.js';
// What the faces (CLI, HTTP, SQL) call instead of holding the logic themselves.
export { describe, BaseNames, sourceKey, type DescribableStore, type DescribedTensor, type ModelDescription, type RecordOwner } from './store/describe-model.js';
export { copyModels, type CopiedModel, type CopyOptions, type CopyProgress, type CopyResult } from './store/copy-models.js';
export { loadReport, formName, type LoadReport, type LoadReportOptions, type LoadRow, type SessionReport } from './store/load-check.js';
export { checkTolerance, parseTolerance, parseTolerances, parseWholeNumber } from './store/tolerance.js';
export { bigintReplacer, recordKeyJson, toJson, type KeyEncoding } from './store/json-keys.js';
export { DEFAULT_TOLERANCE } from './store/store-types.js';
