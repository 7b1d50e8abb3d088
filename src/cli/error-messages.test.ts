// The errors a newcomer meets when a model file is bad, as the CLI prints them: one line that names the file,
// the limit or field at fault, and what to do; exit code 2; nothing stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';
import { ByteBuilder } from '../formats/gguf/gguf-values.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { EXIT_CODES } from './exit-codes.js';
import { runCli as run } from './testing/run-cli.js';

/** Puts `file` into a fresh store and returns the one error line; asserts exit 2 and an empty store after. */
async function putError(file: string, ...flags: string[]): Promise<string> {
  const store = join(tempDir(), 'store');
  assert.equal((await run('init', store)).code, 0);
  const r = await run('--store', store, 'put', file, '--name', 'm', ...flags);
  assert.equal(r.code, EXIT_CODES.INVALID_ARGUMENT, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^neurstore: INVALID_ARGUMENT: [^\n]+\n$/, 'one line');
  assert.equal((await run('--store', store, 'ls')).stdout, 'no models\n', 'nothing stored');
  return r.stderr.slice('neurstore: INVALID_ARGUMENT: '.length, -1);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('a safetensors file whose JSON header is over 100 MB: named as safetensors, with its size and the limit', async () => {
  const file = join(tempDir(), 'huge-header.safetensors');
  const header = 104_857_600; // 100 MiB of header: over the 100,000,000-byte limit
  const prefix = Buffer.alloc(9);
  prefix.writeBigUInt64LE(BigInt(header));
  prefix[8] = 0x7b; // '{'
  writeFileSync(file, prefix);
  truncateSync(file, 8 + header + 16); // a sparse file: the header is never read
  const message = await putError(file);
  assert.match(message, new RegExp(`^${escape(file)}: safetensors header is 104857600 bytes, over the limit of 100000000 bytes \\(100 MB\\)`));
  assert.match(message, /export the model again with its __metadata__ under the limit$/);
  assert.doesNotMatch(message, /not a model/);
});

test('a safetensors file cut short: named, with its size, and told to fetch it again', async () => {
  const file = join(tempDir(), 'cut.safetensors');
  writeFileSync(file, readFileSync(join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors')).subarray(0, 100));
  const message = await putError(file);
  assert.match(message, new RegExp(`^${escape(file)}: safetensors header length \\d+ runs past the end of the file \\(100 bytes`));
  assert.match(message, /the file is cut short; download or copy it again$/);
});

test('a GGUF string longer than the file: the message names that string (an array element), not its array', async () => {
  const b = new ByteBuilder();
  b.bytes(Buffer.from('GGUF'));
  b.u32(3); // version
  b.u64(0n); // tensors
  b.u64(1n); // metadata entries
  b.string('tokenizer.ggml.tokens');
  b.u32(9); // ARRAY
  b.u32(8); // of STRING
  b.u64(3n);
  b.string('<s>');
  b.u64(1n << 60n); // the second token's length: a lie
  b.bytes(new Uint8Array(32));
  const file = join(tempDir(), 'lying.gguf');
  writeFileSync(file, b.result());
  const at = 4 + 4 + 8 + 8 + (8 + 21) + 4 + 4 + 8 + (8 + 3); // preamble, key, types, count, '<s>'
  const message = await putError(file);
  assert.match(message, new RegExp(`^${escape(file)}: GGUF length of metadata 'tokenizer\\.ggml\\.tokens'\\[1\\] is 1152921504606846976 \\(at offset ${at}\\), more than the file can hold`));
  assert.match(message, /download or export it again$/);
});

test('content no format recognizes: named, with the formats tried and how to see why', async () => {
  const file = join(tempDir(), 'notes.txt');
  writeFileSync(file, 'definitely not a model');
  const message = await putError(file);
  assert.equal(message, `${file}: not a model in any known format (gguf, safetensors, tfjs, onnx); if it is one of them, ` +
    'put it again with --format NAME (the `format` option) to see what is wrong with it');
  assert.match(await putError(file, '--format', 'safetensors'), new RegExp(`^${escape(file)}: safetensors header is \\d+ bytes, over the limit`));
});
