/**
 * Writes a stored TF.js model back: the JSON file verbatim and every shard byte for byte, streaming one
 * tensor at a time into the shards (a tensor that straddled a shard boundary is split the same way again).
 */
import { invalidArgument } from '../../errors.js';
import type { ByteSink } from '../byte-source.js';
import type { ModelSink, StoredModel } from '../model-format.js';
import type { ShardInfo } from './tfjs-architecture.js';
import { decodeTfjsArchitecture } from './tfjs-architecture.js';

type FileSink = ByteSink & { close(): Promise<void> };

/** Streams bytes into a run of shard files of fixed sizes, opening each when the previous is full. */
export class ShardStream {
  private index = -1;
  private current: FileSink | undefined;
  private room = 0;

  constructor(
    private readonly sink: ModelSink,
    private readonly shards: readonly ShardInfo[],
  ) {}

  private async next(): Promise<void> {
    await this.current?.close();
    this.current = undefined;
    this.index++;
    if (this.index >= this.shards.length) throw invalidArgument('more tensor bytes than the shards hold');
    this.current = await this.sink.create(this.shards[this.index].file);
    this.room = this.shards[this.index].size;
  }

  /** Appends `bytes`, splitting them across shard boundaries. */
  async push(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      if (this.current === undefined || this.room === 0) await this.next();
      const n = Math.min(this.room, bytes.length - at);
      await this.current!.write(bytes.subarray(at, at + n));
      at += n;
      this.room -= n;
    }
  }

  /** Closes the last shard and creates any remaining (empty) ones; throws if bytes are missing. */
  async finish(): Promise<void> {
    for (;;) {
      if (this.room !== 0) {
        throw invalidArgument(`shard '${this.shards[this.index].file}' is short of ${this.room} bytes`);
      }
      if (this.index >= this.shards.length - 1) break;
      await this.next();
    }
    await this.current?.close();
    this.current = undefined;
  }
}

async function writeFile(sink: ModelSink, file: string, bytes: Uint8Array): Promise<void> {
  const out = await sink.create(file);
  await out.write(bytes);
  await out.close();
}

/**
 * Rebuilds the JSON file and every shard from a stored TF.js model. Throws INVALID_ARGUMENT when the
 * architecture is not a TF.js one or a tensor's bytes have the wrong length.
 */
export async function writeTfjs(model: StoredModel, sink: ModelSink): Promise<void> {
  const arch = decodeTfjsArchitecture(model.architecture);
  await writeFile(sink, arch.jsonFile, arch.json);
  for (const [g, shards] of arch.groups.entries()) {
    const stream = new ShardStream(sink, shards);
    for (const e of arch.entries) {
      if (e.group !== g) continue;
      const bytes = 'tensor' in e ? await model.tensorBytes(e.tensor) : e.inline;
      if (bytes.length !== e.byteLength) {
        const what = 'tensor' in e ? `tensor ${e.tensor}` : 'inline weight';
        throw invalidArgument(`${what} has ${bytes.length} bytes, expected ${e.byteLength}`);
      }
      await stream.push(bytes);
    }
    await stream.finish();
  }
}
