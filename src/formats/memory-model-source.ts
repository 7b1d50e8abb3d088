/** A `ModelSource` over files held in memory (tests, and models built on the fly). */
import { notFound } from '../errors.js';
import { memorySource, type ByteSource } from './byte-source.js';
import type { ModelSource } from './model-format.js';

/** `files` maps file names to bytes; the first entry is the main file. Other names throw NOT_FOUND. */
export function memoryModelSource(files: Record<string, Uint8Array> | Map<string, Uint8Array>, listed?: string[]): ModelSource {
  const map = files instanceof Map ? files : new Map(Object.entries(files));
  return {
    files: listed ?? [...map.keys()],
    async open(file: string): Promise<ByteSource> {
      const bytes = map.get(file);
      if (!bytes) throw notFound(`no such file ${file}`);
      return memorySource(bytes);
    },
  };
}
