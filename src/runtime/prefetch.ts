/**
 * Read-ahead for loads: while the consumer works on tensor i, the next ones are already being read and
 * decoded (on the decode pool), up to a byte and a count budget, so reads stay sequential and both cores
 * stay busy. The consumer may ask in any order; asking in order is what the read-ahead is for.
 */

export interface PrefetchOptions {
  /** Bytes of tensors started ahead of the one asked for (default 64 MiB; at least one tensor). */
  readonly aheadBytes?: number;
  /**
   * Tensors started ahead (default 128). Large: a model's big tensors sit between many small ones (norm
   * parameters, biases), and the next big one must be in flight for the decode workers to overlap (with 8,
   * faceres-deep's ten large tensors decoded one at a time on one worker).
   */
  readonly aheadCount?: number;
  /**
   * Items started only when asked for, never ahead (nor those after them): large tensors that stream through a
   * read-ahead of their own, whose whole bytes read ahead would double what a load holds.
   */
  readonly onlyWhenAsked?: (i: number) => boolean;
}

/** `get(i)` is `fetch(i)`, with the following tensors (sized by `sizes`) started in the background. */
export function prefetcher<T>(sizes: readonly number[], fetch: (i: number) => Promise<T>, options: PrefetchOptions = {}): (i: number) => Promise<T> {
  const aheadBytes = options.aheadBytes ?? 64 * 1024 * 1024;
  const aheadCount = options.aheadCount ?? 128;
  const started = new Map<number, Promise<T>>();
  const start = (i: number): Promise<T> => {
    let p = started.get(i);
    if (!p) {
      p = fetch(i);
      // A read-ahead that fails is reported to whoever asks for it, not as an unhandled rejection.
      p.catch(() => {});
      started.set(i, p);
    }
    return p;
  };
  return (i: number): Promise<T> => {
    const p = start(i);
    started.delete(i);
    let bytes = 0;
    for (let j = i + 1; j < sizes.length && j <= i + aheadCount; j++) {
      if (options.onlyWhenAsked?.(j)) break;
      bytes += sizes[j]!;
      if (bytes > aheadBytes && j > i + 1) break;
      start(j);
    }
    return p;
  };
}
