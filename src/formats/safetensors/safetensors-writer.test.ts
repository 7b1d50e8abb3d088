// Writer and architecture tests: the canonical header layout, the generic writer's input checks, and the
// architecture blob's encoding, versioning and truncation errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNeurStoreError } from '../../errors.js';
import type { ErrorCode } from '../../errors.js';
import { memorySink } from '../byte-source.js';
import {
  ARCHITECTURE_VERSION,
  decodeSafetensorsArchitecture,
  encodeSafetensorsArchitecture,
} from './safetensors-architecture.js';
import { safetensorsFormat } from './safetensors-format.js';
import type { SafetensorsTensorSpec } from './safetensors-writer.js';
import { buildSafetensorsHeader, writeSafetensors, writeSafetensorsVerbatim } from './safetensors-writer.js';

function fails(fn: () => unknown, code: ErrorCode, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isNeurStoreError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

async function failsAsync(p: Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isNeurStoreError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('canonical header: compact JSON in the given order, metadata first, space-padded to 8 bytes', () => {
  const specs: SafetensorsTensorSpec[] = [
    { name: 'b', dtype: 'F32', shape: [2], byteLength: 8 },
    { name: '1', dtype: 'U8', shape: [], byteLength: 1 },
    { name: 'a', dtype: 'BF16', shape: [0, 3], byteLength: 0 },
  ];
  const header = Buffer.from(buildSafetensorsHeader(specs, { z: '1', a: '2' }));
  const json =
    '{"__metadata__":{"z":"1","a":"2"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"1":{"dtype":"U8","shape":[],"data_offsets":[8,9]},"a":{"dtype":"BF16","shape":[0,3],"data_offsets":[9,9]}}';
  assert.equal(header.length, Math.ceil(json.length / 8) * 8);
  assert.equal(header.toString(), json.padEnd(header.length, ' '));
  assert.equal(Buffer.from(buildSafetensorsHeader([])).toString(), '{}      ');
});

test('generic writer rejects bad tensors and metadata, naming them', () => {
  const ok = { name: 'w', dtype: 'F32', shape: [2], byteLength: 8 };
  fails(() => buildSafetensorsHeader([ok, ok]), 'INVALID_ARGUMENT', /tensor "w" appears twice/);
  fails(() => buildSafetensorsHeader([{ ...ok, name: '__metadata__' }]), 'INVALID_ARGUMENT', /__metadata__ is reserved/);
  fails(() => buildSafetensorsHeader([{ ...ok, dtype: 'F33' }]), 'INVALID_ARGUMENT', /tensor "w": unknown dtype "F33"/);
  fails(() => buildSafetensorsHeader([{ ...ok, shape: [-2] }]), 'INVALID_ARGUMENT', /tensor "w": shape must be an array of non-negative integers, got -2/);
  fails(() => buildSafetensorsHeader([{ ...ok, shape: [1.5] }]), 'INVALID_ARGUMENT', /shape must be an array of non-negative integers/);
  fails(() => buildSafetensorsHeader([{ ...ok, byteLength: 4 }]), 'INVALID_ARGUMENT', /byteLength 4 but dtype F32 with shape \[2\] needs 8/);
  fails(() => buildSafetensorsHeader([{ ...ok, dtype: 'F6_E2M3', shape: [3], byteLength: 2 }]), 'INVALID_ARGUMENT', /whole number of bytes/);
  const badMeta = { k: 5 } as unknown as Record<string, string>;
  fails(() => buildSafetensorsHeader([ok], badMeta), 'INVALID_ARGUMENT', /metadata value of key "k" must be a string/);
});

test('generic writer checks each tensor\'s bytes as it streams them', async () => {
  const specs = [
    { name: 'a', dtype: 'U8', shape: [3], byteLength: 3 },
    { name: 'b', dtype: 'I16', shape: [2], byteLength: 4 },
  ];
  const sink = memorySink();
  await failsAsync(
    writeSafetensors(specs, async (i) => new Uint8Array(i === 0 ? 3 : 5), sink),
    'INVALID_ARGUMENT',
    /tensor "b": expected 4 bytes, got 5 bytes/,
  );
  const asked: number[] = [];
  const good = memorySink();
  const size = await writeSafetensors(specs, async (i) => (asked.push(i), new Uint8Array(specs[i].byteLength).fill(i + 1)), good);
  assert.deepEqual(asked, [0, 1]);
  assert.equal(size, good.bytes().length);
  assert.deepEqual([...good.bytes().subarray(size - 7)], [1, 1, 1, 2, 2, 2, 2]);
});

test('verbatim writer refuses a malformed header before writing anything', async () => {
  const sink = memorySink();
  await failsAsync(writeSafetensorsVerbatim(Buffer.from('{"a":1}'), async () => new Uint8Array(0), sink), 'INVALID_ARGUMENT', /tensor "a"/);
  assert.equal(sink.bytes().length, 0);
});

test('architecture blob: round trip, version byte first, unknown versions and truncation', () => {
  const header = Buffer.from('{}      ');
  const blob = encodeSafetensorsArchitecture('model ü.safetensors', header);
  assert.equal(blob[0], ARCHITECTURE_VERSION);
  const arch = decodeSafetensorsArchitecture(blob);
  assert.equal(arch.fileName, 'model ü.safetensors');
  assert.deepEqual(Buffer.from(arch.header), header);
  fails(() => decodeSafetensorsArchitecture(Uint8Array.from([2, 0, 0])), 'NOT_SUPPORTED', /version 2 is not supported/);
  fails(() => decodeSafetensorsArchitecture(new Uint8Array(0)), 'INVALID_ARGUMENT', /architecture is empty/);
  fails(() => decodeSafetensorsArchitecture(Uint8Array.from([1, 0])), 'INVALID_ARGUMENT', /truncated before its file name length/);
  fails(() => decodeSafetensorsArchitecture(Uint8Array.from([1, 5, 0, 0x61])), 'INVALID_ARGUMENT', /file name of 5 bytes runs past its end/);
  fails(() => encodeSafetensorsArchitecture('x'.repeat(70000), header), 'INVALID_ARGUMENT', /file name is 70000 bytes/);
});

test('format write with a bad architecture creates no file', async () => {
  const created: string[] = [];
  const sink = { create: async (f: string) => (created.push(f), { write: async () => {}, close: async () => {} }) };
  const bad = encodeSafetensorsArchitecture('m.safetensors', Buffer.from('{"t":{"dtype":"X","shape":[],"data_offsets":[0,1]}}'));
  await failsAsync(
    safetensorsFormat.write({ architecture: bad, tensorBytes: async () => new Uint8Array(1) }, sink),
    'INVALID_ARGUMENT',
    /unknown dtype "X"/,
  );
  const noName = encodeSafetensorsArchitecture('', Buffer.from('{}'));
  await failsAsync(safetensorsFormat.write({ architecture: noName, tensorBytes: async () => new Uint8Array(0) }, sink), 'INVALID_ARGUMENT', /empty file name/);
  assert.deepEqual(created, []);
});
