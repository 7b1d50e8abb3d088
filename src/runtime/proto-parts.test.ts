// ProtoParts against protobufjs's Writer as the oracle: varint fields across byte-length boundaries, strings,
// bytes and nested messages encode to the same bytes; pieces are referenced until concat copies them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { SeededRandom } from '../env/seeded-random.js';
import { ProtoParts } from './proto-parts.js';

test('fields encode as protobufjs encodes them', () => {
  const rand = new SeededRandom(3);
  const values = [0, 1, 127, 128, 300, 2 ** 14, 2 ** 21 - 1, 2 ** 28, 2 ** 32 + 5, 2 ** 53 - 1];
  for (const v of values) {
    const w = protobuf.Writer.create().uint32((7 << 3) | 0).uint64(protobuf.util.LongBits.fromNumber(v).toLong(true)).finish();
    assert.deepEqual(new ProtoParts().uint(7, v).concat(), new Uint8Array(w), `varint ${v}`);
  }
  const blob = rand.bytes(300);
  const inner = protobuf.Writer.create().uint32((1 << 3) | 2).string('näme').uint32((9 << 3) | 2).bytes(blob).finish();
  const want = protobuf.Writer.create().uint32((1000 << 3) | 2).bytes(inner).finish();
  const got = new ProtoParts().message(1000, new ProtoParts().text(1, 'näme').blob(9, blob));
  assert.equal(got.length, want.length);
  assert.deepEqual(got.concat(), new Uint8Array(want));
});

test('bytes are referenced until concat, which copies them', () => {
  const b = Uint8Array.of(1, 2, 3);
  const parts = new ProtoParts().bytes(b).bytes(new Uint8Array(0));
  assert.equal(parts.pieces.length, 1);
  b[0] = 9;
  const out = parts.concat();
  b[1] = 9;
  assert.deepEqual(out, Uint8Array.of(9, 2, 3));
});
