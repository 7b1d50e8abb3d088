/**
 * HNSW build/search parameters and the size schedule the paper's code uses: small tensors get rich graphs,
 * huge tensors sparse ones, because each distance costs O(elements) and a family rarely has many bases of one
 * big shape. The paper states the end points (M 24 -> 4, efConstruction 64 -> 3, efSearch 64 -> 6 as tensors
 * grow from 512 to over 2.4M elements); its exact steps were not available to us, so the steps between are
 * interpolated geometrically, one per 8x growth in element count. Every value can be overridden.
 */
import { invalidArgument } from '../errors.js';

/** Parameters of one HNSW graph. */
export interface HnswParams {
  /** Links per node on levels above 0 (level 0 allows 2*M). */
  readonly M: number;
  /** Candidate list size while inserting. */
  readonly efConstruction: number;
  /** Default candidate list size while searching (raised to k when smaller). */
  readonly efSearch: number;
  /** Seed of the level generator. */
  readonly seed: number;
}

/** Overrides for `hnswParamsFor`; missing fields come from the size schedule; seed defaults to 1. */
export type HnswOptions = Partial<HnswParams>;

/** [max elements (inclusive), M, efConstruction, efSearch]; the last row covers everything bigger. */
const SCHEDULE: ReadonlyArray<readonly [number, number, number, number]> = [
  [512, 24, 64, 64],
  [4096, 16, 32, 40],
  [32768, 12, 16, 24],
  [262144, 8, 8, 16],
  [2457600, 6, 5, 10],
  [Infinity, 4, 3, 6],
];

/** Parameters for tensors of `elements` elements, with `options` taking precedence. */
export function hnswParamsFor(elements: number, options: HnswOptions = {}): HnswParams {
  if (!Number.isSafeInteger(elements) || elements < 0) {
    throw invalidArgument(`elements must be a non-negative integer, got ${elements}`);
  }
  const row = SCHEDULE.find((r) => elements <= r[0])!;
  return validateParams({
    M: options.M ?? row[1],
    efConstruction: options.efConstruction ?? row[2],
    efSearch: options.efSearch ?? row[3],
    seed: options.seed ?? 1,
  });
}

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw invalidArgument(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  }
}

/** Returns `p` when every field is in range; throws INVALID_ARGUMENT naming the first bad field. */
export function validateParams(p: HnswParams): HnswParams {
  checkInt('M', p.M, 2, 1024);
  checkInt('efConstruction', p.efConstruction, 1, 65535);
  checkInt('efSearch', p.efSearch, 1, 65535);
  checkInt('seed', p.seed, 0, 0xffffffff);
  return p;
}

/** Throws INVALID_ARGUMENT unless `id` is a non-negative safe integer. */
export function checkId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 0) throw invalidArgument(`id must be a non-negative safe integer, got ${id}`);
}

/** Throws INVALID_ARGUMENT unless `k` (and `ef` when given) are positive integers. */
export function checkSearchArgs(k: number, ef?: number): void {
  if (!Number.isSafeInteger(k) || k < 1) throw invalidArgument(`k must be a positive integer, got ${k}`);
  if (ef !== undefined && (!Number.isSafeInteger(ef) || ef < 1)) {
    throw invalidArgument(`ef must be a positive integer, got ${ef}`);
  }
}
