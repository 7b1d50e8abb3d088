/** A `ModelSource` and a `ModelSink` over files held in memory (tests, and models built on the fly). */
import { notFound } from '../errors.js';
import { memorySink, memorySource, type ByteSource } from './byte-source.js';
import type { ModelSink, ModelSource } from './model-format.js';

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

/**
 * A `ModelSink` that keeps each written file in memory: `files` maps a file name to its bytes once that file
 * is closed (tests, and writers whose output is consumed in memory). Writing a name again replaces it.
 */
export function memoryModelSink(): ModelSink & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    async create(file: string) {
      const s = memorySink();
      return { write: (c: Uint8Array) => s.write(c), close: async () => void files.set(file, s.bytes()) };
    },
  };
}
