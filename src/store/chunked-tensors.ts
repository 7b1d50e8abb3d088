/**
 * Large tensors, streamed: a tensor larger than a chunk is read, hashed, coded and written piece by piece, so
 * no tensor (a 6 GB embedding) ever has to fit in memory, and its chunks code and decode on every core.
 *
 * Write: each chunk is read with the format's `readRange`, its SHA-256 taken on a worker (exact dedup per chunk;
 * on the reading thread, the busiest of a put's, hashing held a 1 GB lossless fine-tune's put to 2.73-2.92 s,
 * 2.36-2.47 s on the workers, 4 alternating runs; a base's put the same either way), and coded
 * on the encode pool: losslessly (XOR against the same chunk of a near copy when one was picked) or, in the
 * default mode, float chunks group-quantized within the bound (against the near copy's chunk values), with a
 * bounded number of chunks in flight; records are appended in chunk order. The chunk-list record
 * (chunk-list.ts) is named by a hash tree: SHA-256 over the chunk size and the chunks' SHA-256s, so a tensor put
 * again dedups whole without a second pass over its bytes (measured: that pass cost ~10% of a 1 GB put).
 * Near copies are found without decoding whole tensors: the candidates (same shape and dtype, stored chunked;
 * those of the same tensor name first) are ranked by coding a small slice of the first chunk against each one's
 * first chunk.
 *
 * Read: chunks decode a bounded number ahead on the decode workers, each record checked against its CRC as it
 * is read, each lossy chunk against the digest of the values its bound was checked on (which covers the base
 * chunks it decodes through; with `verify`, every chunk of a chain against its digest or SHA-256: that costs
 * about as much as decoding), and the list against the hash tree at the end (a streaming reader writes to a
 * staged file, so a mismatch leaves no output). See `ChunkCheck`.
 */
import { createHash } from 'node:crypto';
import { NeurStoreError, corruption, invalidArgument } from '../errors.js';
import type { Catalog } from '../catalog/catalog.js';

/** What chunked puts ask the catalog: near-copy candidates. */
export type CandidateSource = Pick<Catalog, 'baseCandidates'>;
import { encodeLossless, type LosslessEffort } from '../codecs/lossless.js';
import { DTYPE_BYTES, isDType } from '../formats/dtype.js';
import type { TensorEntry } from '../formats/model-format.js';
import type { DecodePool } from '../runtime/decode-pool.js';
import type { EncodePool } from '../runtime/encode-pool.js';
import type { ContentStore } from './content-store.js';
import type { PayloadCrc } from '../backend/backend.js';
import type { PayloadParts } from './record-payload.js';
import { ChunkReadAhead, type ChunkSource, type DecodedChunk } from './chunk-read-ahead.js';
import { ChunkPipeline, type StoredChunk } from './chunk-pipeline.js';
import { RecycledBuffers } from './recycled-buffers.js';
import { decodeChunkList, encodeChunkList, type ChunkList, type ChunkRef } from './chunk-list.js';
import { Codec, RecordKind, lossyIdentityOf, sameDigest } from './record-payload.js';
import { estimateGroupDeltaBytes, groupDeltaInfo } from '../codecs/group-delta.js';
import type { FloatDType } from '../codecs/float-ulp.js';
import { isFloatDType, valuesOf } from './tensor-values.js';
import type { EncodedTensor } from './tensor-encoder.js';

/** Default chunk size: 8 MiB (see the README's scale table for the measurement behind it). */
export const CHUNK_BYTES = 8 * 1024 * 1024;
/** Chunks decoded ahead of the one being handed out. */
const CHUNKS_AHEAD = 4;
/** Record buffers kept for reads (see RecycledBuffers): about what a read-ahead has in flight, bases included. */
const RECORD_BUFFERS_KEPT = 2 * CHUNKS_AHEAD;
/** Longest XOR chain a chunk may be decoded through. */
const MAX_CHUNK_DEPTH = 3;
/** Near-copy candidates ranked per tensor, and the slice of the first chunk they are ranked on. */
const CANDIDATES = 4;
const NAMED_CANDIDATES = 2;
const PROBE_BYTES = 256 * 1024;
/** A lossless body is its chunk's bytes at most (a plane that does not shrink is stored raw) plus small heads. */
const BODY_SLACK_BYTES = 64 * 1024;

export interface ChunkedPutOptions {
  readonly signal?: AbortSignal;
  /** Called with each chunk's byte count once it is stored. */
  readonly onBytes?: (n: number) => void;
  readonly effort?: LosslessEffort;
  /** Default mode: float chunks are group-quantized within this bound (other dtypes stay lossless). */
  readonly tolerance?: number;
}

interface LossyChunks {
  readonly dtype: FloatDType;
  readonly tol: number;
}

interface NearCopy {
  readonly key: bigint;
  readonly list: ChunkList;
  readonly depth: number;
  /**
   * Its first chunk, decoded to rank it: the base of the tensor's first chunk (taken by that chunk's coding, so
   * the decode is not done twice: a fine-tune's tensors are mostly 1-3 chunks).
   */
  first?: Uint8Array;
}

/**
 * Where a chunk goes: an existing record (exact, or lossy of the same mode and bound), or new record parts
 * (`reusable`: the body lies in memory of the pipeline's, see `bodyMemory`).
 */
type ChunkPlan = StoredChunk | { parts: PayloadParts; maxError: number; reusable?: boolean };

/**
 * How a decoded chunk is checked, beyond the CRC every record read is checked against. 'read': a lossy chunk
 * against the digest of its values (what proves the bound to a reader); 'verify' (`get --verify`, `verify`):
 * every chunk of the chain against its digest or SHA-256; 'crc': the CRCs alone, for a chunk that a put codes
 * against (the new chunk's bound is checked on its own decode, through this base as it decodes, and every
 * reader checks the digests) and for the bases under a chunk whose digest covers the values of its chain.
 */
export type ChunkCheck = 'read' | 'verify' | 'crc';

export interface ChunkedOptions {
  readonly chunkBytes?: number;
}

/** The chunk records of a tensor, as the catalog row's base and storage fields describe them. */
export class ChunkedTensors {
  readonly chunkBytes: number;
  /** Kept from one read to the next (records of an eighth of a chunk and more: 1 MiB steps for 8 MiB chunks). */
  private readonly recordBuffers: RecycledBuffers;
  /**
   * Chunk records' CRC-32s, taken on the codec workers (their records lie in shared memory): on the reading
   * thread they were 0.3-0.6 CPU s of a 4.27 GB get, and 0.2-0.3 of a 1 GB fine-tune's put (its base records).
   */
  private readonly crc: PayloadCrc = (payload) => this.decoder.crc32(payload);

  constructor(
    private readonly content: ContentStore,
    private readonly catalog: CandidateSource,
    private readonly encoder: EncodePool,
    private readonly decoder: DecodePool,
    options: ChunkedOptions = {},
  ) {
    this.chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
    if (!Number.isSafeInteger(this.chunkBytes) || this.chunkBytes < 1024) throw invalidArgument(`chunk size must be at least 1 KiB, got ${this.chunkBytes}`);
    this.recordBuffers = new RecycledBuffers(RECORD_BUFFERS_KEPT, Math.ceil(this.chunkBytes / 8));
  }

  /** True when `byteLength` bytes are stored chunked: tensors of a chunk or more. */
  applies(byteLength: number): boolean {
    return byteLength >= this.chunkBytes;
  }

  /** A pipeline for the chunked tensors of one put (see `ChunkPipeline`). */
  pipeline(): ChunkPipeline {
    // Chunks in flight: one per encode worker and one being read (each costs ~4x its size until written).
    return new ChunkPipeline(this.encoder.size + 1, Math.ceil(this.chunkBytes / 8));
  }

  /**
   * Stores tensor `t` as chunk records plus a chunk list: lossless, or (with `tolerance`, float dtypes)
   * group-quantized within the bound. Runs inside an engine write batch.
   */
  async put(t: TensorEntry, options: ChunkedPutOptions = {}): Promise<EncodedTensor> {
    return (await this.stream(t, options, this.pipeline())).finished;
  }

  /**
   * Reads tensor `t` chunk by chunk into `pipe` (its chunks code on the encode pool while later ones are read,
   * across tensors) and resolves once the last chunk is read; `finished` resolves once every chunk and the
   * list are stored. `finished` must be awaited (settled) before the write ends, also when a later call throws.
   */
  async stream(t: TensorEntry, options: ChunkedPutOptions, pipe: ChunkPipeline): Promise<{ finished: Promise<EncodedTensor> }> {
    const { signal, onBytes, effort } = options;
    const width = elementWidth(t.dtype);
    const size = Math.max(width, this.chunkBytes - (this.chunkBytes % width));
    const lossy = options.tolerance !== undefined && isFloatDType(t.dtype) ? { dtype: t.dtype, tol: options.tolerance } : null;
    let base = await this.nearCopy(t, width, size, lossy, pipe);
    const refs: Array<Promise<ChunkRef & StoredChunk>> = [];
    let added = 0;
    /**
     * The near copy's first chunk (decoded to rank it) when `i` is 0: the base of this tensor's first chunk, to be
     * moved to its coding job or given back. Dropped when the first chunk was found stored, it left ~8 MiB of
     * shared memory per tensor to the collector: putting a 1 GB model already stored peaked at 690-725 MB RSS,
     * past the 512 MiB ceiling, and at ~230 MB once it was given back.
     */
    const takeFirst = (i: number): Uint8Array | undefined => {
      const first = i === 0 ? base?.first : undefined;
      if (base && i === 0) base.first = undefined;
      return first;
    };
    /** Finds chunk `i` among stored records, or codes it (on the encode pool). */
    const plan = async (i: number, bytes: Uint8Array, identity: Uint8Array): Promise<ChunkPlan> => {
      const lossyId = lossy ? lossyIdentityOf(RecordKind.Chunk, 'default', lossy.tol, identity) : null;
      const first = takeFirst(i);
      const found = (await this.content.find(identity)) ?? (lossyId ? await this.content.find(lossyId) : undefined);
      if (found) {
        pipe.giveBack(bytes, first);
        const maxError = lossyId && sameDigest(found.header.identity, lossyId) ? lossy!.tol : 0;
        return { key: found.key, identity: Uint8Array.from(found.header.identity), maxError };
      }
      const baseRef = base && base.list.chunks[i]?.length === bytes.length ? base.list.chunks[i]! : null;
      const decoded = baseRef ? first : undefined;
      if (first && !decoded) pipe.giveBack(first);
      if (!lossy || !lossyId) return { ...(await this.codeChunk(bytes, width, identity, baseRef, base?.depth ?? 0, pipe, effort, decoded)), maxError: 0 };
      return this.codeGroupedChunk(bytes, lossy, lossyId, baseRef, base?.depth ?? 0, pipe, effort, decoded);
    };
    /** Chunk `i`'s record: one in flight with the same bytes, or one found or coded by `plan`, appended in turn. */
    const recordOf = (i: number, bytes: Uint8Array, identity: Uint8Array): Promise<StoredChunk> => {
      const id = Buffer.from(identity).toString('hex');
      const inFlight = pipe.inFlight.get(id);
      if (inFlight) {
        pipe.giveBack(bytes, takeFirst(i)); // the same bytes are being coded already
        return inFlight;
      }
      // Chunks code in parallel; new records are appended one after another in the order they were read, so
      // a model's records lie in the store in the order of its bytes whatever order the workers finish in.
      const planned = plan(i, bytes, identity);
      planned.catch(() => {}); // reported through the append below
      const next = pipe.appending.then(() => planned).then(async (p) => {
        if (!('parts' in p)) return p;
        const s = await this.content.add(p.parts);
        if (p.reusable) pipe.giveBackBody(p.parts.body); // written: add resolves once its parts are
        added += s.storedBytes;
        return { key: s.key, identity: p.parts.identity, maxError: p.maxError };
      });
      pipe.appending = next.catch(() => {}); // a failed chunk is reported through its own promise
      pipe.inFlight.set(id, next);
      return next;
    };
    for (let offset = 0, i = 0; offset < t.byteLength; offset += size, i++) {
      signal?.throwIfAborted();
      const length = Math.min(size, t.byteLength - offset);
      const bytes = await readPiece(t, offset, length, pipe.take(length));
      // The chunk's SHA-256 is taken on a worker while the next chunks are read; chunks are planned (looked up,
      // sent to coding, given their place among the appends) one after another in the order they were read.
      const hashed = this.encoder.digest(RecordKind.Chunk, bytes);
      hashed.catch(() => {}); // awaited once the chunks before it are planned; reported through `planning`
      const planning = pipe.planning.then(() => hashed).then((identity) => ({ record: recordOf(i, bytes, identity) }));
      pipe.planning = planning.catch(() => {}); // a failed chunk is reported through its own promise
      const record = planning.then((p) => p.record);
      const ref = record.then((r) => {
        onBytes?.(length);
        return { ...r, length };
      });
      ref.catch(() => {}); // awaited below; a failure must not surface as an unhandled rejection meanwhile
      refs.push(ref);
      await pipe.admit(ref);
    }
    const finished = (async (): Promise<EncodedTensor> => {
      const resolved = await Promise.all(refs);
      const maxError = resolved.reduce((m, r) => Math.max(m, r.maxError), 0);
      const chunks: ChunkRef[] = resolved.map((r) => ({ key: r.key, length: r.length }));
      const identity = listIdentity(size, resolved.map((r) => r.identity));
      const { stored, stale } = await this.sameList(identity, chunks);
      // A list being replaced (it names a damaged chunk) is no base of its own fresh copy: the chunks found intact
      // are its chunks, the damaged one was coded alone.
      if (base && base.key === stale) base = null;
      const encoded = { codec: 'chunked' as const, maxError, ...(base ? { baseKey: base.key } : {}) };
      const depth = base ? base.depth + 1 : 0;
      if (stored !== undefined) return { key: stored, storedAs: 'duplicate', depth, storedBytes: added, bits: 0, ...encoded };
      const list = await this.content.add({
        kind: RecordKind.Tensor, codec: Codec.ChunkList, identity, body: encodeChunkList({ chunkBytes: size, totalBytes: t.byteLength, chunks }),
      });
      const storedBytes = added + list.storedBytes;
      const storedAs = lossy ? (base ? 'delta' : 'standalone') : base ? 'lossless-delta' : 'lossless';
      return {
        key: list.key, storedAs, depth, storedBytes,
        bits: t.byteLength > 0 ? (8 * storedBytes) / (t.byteLength / width) : 0, ...encoded,
      };
    })();
    finished.catch(() => {}); // the caller's
    return { finished };
  }

  /**
   * A stored chunk list with `identity` that names exactly `chunks` (the records this put found or wrote, every
   * one checked intact), if any. A list with the same identity naming other records (a damaged chunk that this
   * put replaced) is not reused: it is marked replaced, so its models are repointed to the list written now.
   */
  private async sameList(identity: Uint8Array, chunks: readonly ChunkRef[]): Promise<{ stored?: bigint; stale?: bigint }> {
    let stale: bigint | undefined;
    for await (const found of this.content.findAll(identity)) {
      const list = await this.list(found.key).catch(() => null);
      if (list && list.chunks.length === chunks.length && list.chunks.every((c, i) => c.key === chunks[i]!.key)) return { stored: found.key };
      stale ??= found.key;
    }
    if (stale !== undefined) this.content.replace(identity, stale);
    return { stale };
  }

  /**
   * The chunk's record parts: coded on the encode pool, against its base chunk when there is one and it reads
   * back (a damaged base chunk is no base: the chunk is coded alone).
   */
  private async codeChunk(bytes: Uint8Array, width: number, identity: Uint8Array, baseRef: ChunkRef | null, depth: number, pipe: ChunkPipeline, effort?: LosslessEffort, decoded?: Uint8Array) {
    // The base: `decoded` when given; a lossless base chain decoded by the job that codes against it; another
    // (a lossy base) decoded here.
    const baseChain = baseRef && !decoded ? await this.losslessChain(baseRef.key, this.recordBuffers.alloc).catch(noBase) : null;
    const base = decoded ?? (baseRef && baseChain === undefined ? await this.baseChunk(baseRef, pipe) : null);
    const into = pipe.bodyMemory(bytes.length + BODY_SLACK_BYTES);
    const { body, bytes: handedBack, base: baseBack, bodies, inInto } = await this.encoder.encode({ bytes, width, base, ...(baseChain ? { baseChain } : {}), effort, into });
    // The job is done with its memory: what it moved comes back, shared memory (and any not moved) is still ours.
    pipe.giveBack(handedBack ?? bytes, baseBack ?? base ?? undefined);
    this.recordBuffers.giveBack(...(bodies ?? []), ...(baseChain ?? []).map((r) => r.buffer));
    const ref = baseRef && (base || baseChain) ? { key: baseRef.key, view: 'bytes' as const, depth: depth + 1 } : undefined;
    return { parts: { kind: RecordKind.Chunk, codec: Codec.Lossless, identity, body, ...(ref ? { base: ref } : {}) }, reusable: inInto === true };
  }

  /**
   * The stored chunked tensor (same shape and dtype) whose first chunk a slice of `t`'s first chunk codes
   * smallest against, when that beats coding the slice alone; null otherwise. Decodes one chunk per candidate
   * tried: those of the same name first, the others only when none of those pays.
   */
  private async nearCopy(t: TensorEntry, width: number, size: number, lossy: LossyChunks | null, pipe: ChunkPipeline): Promise<NearCopy | null> {
    // A fine-tune keeps its base's tensor names: the latest tensors of the same name come first, then the
    // latest of the shape (a model with many same-shape layers would otherwise offer only its last layer's).
    const named = await this.catalog.baseCandidates(t.shape, MAX_CHUNK_DEPTH, NAMED_CANDIDATES, [t.dtype], ['chunked'], t.name);
    const recent = await this.catalog.baseCandidates(t.shape, MAX_CHUNK_DEPTH, CANDIDATES, [t.dtype], ['chunked']);
    const candidates = [...named, ...recent.filter((r) => !named.some((n) => n.key === r.key))];
    if (candidates.length === 0) return null;
    const probeLength = Math.min(PROBE_BYTES - (PROBE_BYTES % width), size, t.byteLength);
    const probe = await readPiece(t, 0, probeLength);
    // The size a slice codes to against `base` (or alone): lossless, or group-quantized within the bound.
    const cost = lossy
      ? (base: Uint8Array | null) => estimateGroupDeltaBytes(valuesOf(probe, lossy.dtype), base && valuesOf(base, lossy.dtype), lossy.tol, { dtype: lossy.dtype })
      : (base: Uint8Array | null) => encodeLossless(probe, width, base).length;
    let best: NearCopy | null = null;
    let bestBytes = cost(null);
    for (const [n, c] of candidates.entries()) {
      // A tensor of the same name that pays is taken without decoding the others (a fine-tune's layers would
      // each cost a chunk decode per same-shape layer of the base: 4 of 5 decodes spent for nothing).
      if (n === named.length && best) break;
      const list = await this.list(c.key).catch(() => null); // a damaged candidate is just not a candidate
      if (!list || list.chunkBytes !== size || list.chunks[0]!.length < probeLength) continue;
      // Decoded into a chunk buffer of the pipeline's (fresh 8 MiB per tensor faulted in ~0.5 GB of pages per GB
      // of fine-tune); the chunk coded against it gives it back once coded, a candidate that loses here.
      const into = pipe.take(list.chunks[0]!.length).buffer;
      const first = await this.decodeChunk(list.chunks[0]!.key, 'crc', into).then((d) => d.bytes, () => null);
      if (!first) continue;
      const bytes = cost(first.subarray(0, probeLength));
      if (bytes < bestBytes) {
        bestBytes = bytes;
        pipe.giveBack(best?.first);
        best = { key: c.key, list, depth: c.depth, first };
      } else {
        pipe.giveBack(first);
      }
    }
    return best;
  }

  /**
   * A float chunk group-quantized within the bound (default mode) on the encode pool, against its base chunk's
   * values when there is one that reads back; the worker decodes it again (group-chunk.ts) and the error it
   * reports is checked against the bound here, as whole tensors are.
   */
  private async codeGroupedChunk(bytes: Uint8Array, lossy: LossyChunks, identity: Uint8Array, baseRef: ChunkRef | null, depth: number, pipe: ChunkPipeline, effort?: LosslessEffort, decoded?: Uint8Array) {
    const base = decoded ?? (baseRef ? await this.baseChunk(baseRef, pipe) : null);
    const group = { dtype: lossy.dtype, tol: lossy.tol, digestPrefix: RecordKind.Chunk };
    const { body, maxError = Infinity, digest, bytes: handedBack, base: baseBack } = await this.encoder.encode({ bytes, width: 1, base, group, effort });
    pipe.giveBack(handedBack ?? bytes, baseBack ?? base ?? undefined);
    if (!(maxError <= lossy.tol) || !digest) throw new NeurStoreError('INVALID_ARGUMENT', `a chunk missed the bound (${maxError} > ${lossy.tol})`);
    const ref = baseRef && base ? { key: baseRef.key, view: lossy.dtype, depth: depth + 1 } : undefined;
    return { maxError, parts: { kind: RecordKind.Chunk, codec: Codec.GroupDelta, identity, check: digest, body, ...(ref ? { base: ref } : {}) } };
  }

  /**
   * Base chunk `ref` decoded (CRCs checked) into a chunk buffer of the pipeline's, given back with the chunk
   * coded against it; null when it does not read (a damaged base is no base). Decoded into fresh memory, each
   * 8 MiB base came from a worker's heap and went back only when the reading thread collected it: a 1 GB
   * default-mode fine-tune's put peaked ~80 MB higher, with two ~60 MiB mappings in /proc/self/smaps now gone.
   */
  private baseChunk(ref: ChunkRef, pipe: ChunkPipeline): Promise<Uint8Array | null> {
    return this.decodeChunk(ref.key, 'crc', pipe.take(ref.length).buffer).then((d) => d.bytes, noBase);
  }

  /** The chunk list of chunk-list record `key`. */
  async list(key: bigint): Promise<ChunkList> {
    return (await this.listOf(key)).list;
  }

  /** The keys of the chunk records a chunk-list record names (for gc). */
  async chunkKeys(key: bigint): Promise<bigint[]> {
    return (await this.list(key)).chunks.map((c) => c.key);
  }

  /**
   * One chunk's bytes, decoded (through its base chain) on the decode pool into memory of its own, checked as
   * `check` says (see `ChunkCheck`).
   */
  async chunkBytesOf(key: bigint, check: ChunkCheck = 'read'): Promise<Uint8Array> {
    return (await this.decodeChunk(key, check)).bytes;
  }

  /** See `chunkBytesOf`; decoded into `into` (given up by the caller) when long enough. */
  private async decodeChunk(key: bigint, check: ChunkCheck, into?: ArrayBufferLike): Promise<DecodedChunk> {
    const { header, body } = await this.content.read(key, this.recordBuffers.alloc, this.crc);
    const where = `record ${key.toString(16)}`;
    const grouped = header.codec === Codec.GroupDelta;
    if (header.kind !== RecordKind.Chunk || !(grouped || header.codec === Codec.Lossless)) throw corruption(where, 1, `record is not a chunk (kind ${header.kind}, codec ${header.codec})`);
    if (header.base && header.base.depth > MAX_CHUNK_DEPTH) throw corruption(where, header.headerBytes - 1, `chunk delta chain of ${header.base.depth}`);
    // Copied out before the body's buffer (which holds the header too) is moved to a worker.
    const identity = Uint8Array.from(header.identity);
    // A lossy chunk is checked against the digest of what it decodes to; an exact one against its identity.
    const expected = Uint8Array.from(header.check ?? header.identity);
    // A lossy chunk read is always checked against the digest of the values its bound was checked on at put
    // (the encoder computes them with the decoder's arithmetic rather than decoding the body again): equal
    // digests prove every element the reader gets is within the bound. A lossless one is, with `verify`.
    const digest = check === 'verify' || (check === 'read' && grouped);
    // A digest over the values decoded through the chain covers the chain: its bases need only their CRCs.
    const baseCheck: ChunkCheck = check === 'verify' ? 'verify' : digest ? 'crc' : check;
    // A lossless chunk read without digests decodes its lossless base chain in the same job.
    const baseChain = header.base && !grouped && check !== 'verify' ? await this.losslessChain(header.base.key, this.recordBuffers.alloc) : undefined;
    const baseBytes = header.base && !baseChain ? await this.chunkBytesOf(header.base.key, baseCheck) : null;
    const view = header.base?.view;
    // A group delta of 16-bit floats takes its base chunk as the 16-bit patterns it decoded to (no float32 copy).
    const halfBase = grouped && baseBytes && (view === 'BF16' || view === 'F16') && baseBytes.byteOffset % 2 === 0;
    const base = halfBase
      ? new Uint16Array(baseBytes.buffer, baseBytes.byteOffset, baseBytes.length / 2)
      : grouped && baseBytes ? valuesOf(baseBytes, view === 'bytes' || !view ? 'F32' : view) : baseBytes;
    const dtype = grouped ? groupDeltaInfo(body).dtype : 'U8';
    let decoded;
    try {
      const job = { codec: grouped ? 'group-delta' : 'lossless', body, base, ...(baseChain ? { baseChain } : {}), dtype, digestPrefix: RecordKind.Chunk, digest, owned: true, into, handBack: true } as const;
      decoded = await this.decoder.decode(job, true);
      // The records' buffers, handed back by the worker (or never moved: shared, or decoded here), are read into again.
      const result = decoded.bytes.buffer;
      this.recordBuffers.giveBack(...[...(decoded.bodies ?? []), ...[body, ...(baseChain ?? [])].map((r) => r.buffer)].filter((b) => b !== result));
    } catch (e) {
      if (e instanceof NeurStoreError && e.code === 'INVALID_ARGUMENT') throw corruption(where, header.headerBytes, e.message);
      throw e;
    }
    if (digest && (!decoded.digest || !sameDigest(decoded.digest, expected))) throw corruption(where, 4, 'decoded chunk does not match its SHA-256 digest');
    return { bytes: decoded.bytes, identity };
  }

  /**
   * The bodies of chunk `key` and the chunks under it, root first, when every one is coded losslessly (each
   * record's CRC checked as it is read); undefined when one is not (a lossy base: decoded on its own).
   * CORRUPTION when a record is no chunk or the chain is deeper than chunks may be.
   */
  private async losslessChain(key: bigint, alloc?: (n: number) => Uint8Array): Promise<Uint8Array[] | undefined> {
    const bodies: Uint8Array[] = [];
    for (let k: bigint | undefined = key; k !== undefined;) {
      const { header, body } = await this.content.read(k, alloc, this.crc);
      const where = `record ${k.toString(16)}`;
      if (header.kind !== RecordKind.Chunk) throw corruption(where, 1, `record is not a chunk (kind ${header.kind})`);
      if (header.codec !== Codec.Lossless) return undefined;
      if (bodies.length >= MAX_CHUNK_DEPTH) throw corruption(where, header.headerBytes - 1, `chunk delta chain of more than ${MAX_CHUNK_DEPTH}`);
      bodies.unshift(body);
      k = header.base?.key;
    }
    return bodies;
  }

  /** A chunk list with the hash-tree identity its record is named by. */
  async listOf(key: bigint): Promise<{ list: ChunkList; identity: Uint8Array }> {
    const { header, body } = await this.content.read(key);
    const where = `record ${key.toString(16)}`;
    if (header.kind !== RecordKind.Tensor || header.codec !== Codec.ChunkList) throw corruption(where, 2, 'not a chunk list');
    return { list: decodeChunkList(body, where), identity: Uint8Array.from(header.identity) };
  }

  /**
   * A reader of a model's chunked tensors (`keys[t]`: tensor t's chunk-list key, null for one stored whole)
   * whose read-ahead of CHUNKS_AHEAD chunks runs across tensor boundaries (chunk-read-ahead.ts), on every decode
   * worker; CORRUPTION when a record fails its CRC, a chunk its digest (lossy ones always, lossless ones with
   * `verify`), and (after a tensor's last chunk) when the chunks are not those its list's hash tree names.
   */
  reader(keys: readonly (bigint | null)[], verify = false): ChunkReadAhead {
    const source: ChunkSource = {
      listOf: (key) => this.listOf(key),
      decodeChunk: (key, v, into) => this.decodeChunk(key, v ? 'verify' : 'read', into),
      treeIdentity: listIdentity,
      sameDigest,
    };
    return new ChunkReadAhead(source, keys, CHUNKS_AHEAD, verify);
  }
}

/** A chunk list's identity: SHA-256 of (kind 2 || "chunks" || chunk-bytes:u32 || each chunk's SHA-256). */
function listIdentity(chunkBytes: number, chunkIds: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha256').update(Uint8Array.of(RecordKind.Tensor)).update('chunks');
  const size = Buffer.alloc(4);
  size.writeUInt32LE(chunkBytes);
  h.update(size);
  for (const id of chunkIds) h.update(id);
  return new Uint8Array(h.digest());
}

/** A base chunk that is damaged or gone is no base (the chunk is coded alone); other errors are the put's. */
function noBase(e: unknown): null {
  if (e instanceof NeurStoreError && (e.code === 'CORRUPTION' || e.code === 'NOT_FOUND')) return null;
  throw e;
}

/** Bytes per element for byte-plane splitting (1 for packed or unknown types). */
function elementWidth(dtype: string): number {
  const w = isDType(dtype) ? DTYPE_BYTES[dtype] : 1;
  return Number.isInteger(w) && w >= 1 ? w : 1;
}

/** `length` bytes of `t` at `offset`, read into `into` (exactly `length` bytes, given up) when the format can. */
async function readPiece(t: TensorEntry, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
  if (t.readRange) {
    const bytes = await t.readRange(offset, length, into);
    if (bytes.length !== length) throw invalidArgument(`tensor '${t.name}': read ${bytes.length} bytes at ${offset}, expected ${length}`);
    return bytes;
  }
  // A format without ranged reads: the tensor is read whole once (cached on the entry for the next pieces).
  const cache = t as TensorEntry & { wholeForPieces?: Promise<Uint8Array> };
  cache.wholeForPieces ??= t.read();
  const whole = await cache.wholeForPieces;
  if (whole.length !== t.byteLength) throw invalidArgument(`tensor '${t.name}' has ${whole.length} bytes, its header says ${t.byteLength}`);
  return whole.subarray(offset, offset + length);
}
