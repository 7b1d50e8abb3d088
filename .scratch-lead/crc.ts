import { encodeRecordHeader } from '../src/engine/record-format.js';
import { encodePayloadHead, RecordKind, Codec } from '../src/store/record-payload.js';
const head = encodePayloadHead({ kind: RecordKind.Tensor, codec: Codec.Raw, identity: new Uint8Array(32).fill(3), body: new Uint8Array(0) });
const body = new Uint8Array(0);
console.log(Buffer.from(encodeRecordHeader(5n, [head, body])).toString('hex'));
const b2 = Buffer.alloc(0);
console.log(Buffer.from(encodeRecordHeader(5n, [head, b2])).toString('hex'));
const { crc32 } = await import('node:zlib');
console.log(crc32(head, 0), crc32(body, crc32(head, 0)));
