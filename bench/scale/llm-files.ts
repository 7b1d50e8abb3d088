/**
 * The generated LLM of `bench:scale`: a transformer-shaped safetensors file in bf16 (hidden 2048, MLP 5632,
 * vocabulary 32000, as many layers as the size asks), weights N(0, 0.02), and a fine-tune of it (the same
 * weights + N(0, 0.001)), both seeded and written tensor by tensor into .cache/scale/ (never committed).
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../src/env/seeded-random.js';

const HIDDEN = 2048;
const MLP = 5632;
const VOCAB = 32000;

interface Spec {
  readonly name: string;
  readonly shape: [number, number];
}

function specs(bytes: number): Spec[] {
  const out: Spec[] = [{ name: 'model.embed_tokens.weight', shape: [VOCAB, HIDDEN] }];
  const layerBytes = 2 * (4 * HIDDEN * HIDDEN + 3 * HIDDEN * MLP);
  const layers = Math.max(1, Math.round((bytes - 2 * 2 * VOCAB * HIDDEN) / layerBytes));
  for (let l = 0; l < layers; l++) {
    for (const p of ['q', 'k', 'v', 'o']) out.push({ name: `model.layers.${l}.self_attn.${p}_proj.weight`, shape: [HIDDEN, HIDDEN] });
    out.push({ name: `model.layers.${l}.mlp.gate_proj.weight`, shape: [MLP, HIDDEN] });
    out.push({ name: `model.layers.${l}.mlp.up_proj.weight`, shape: [MLP, HIDDEN] });
    out.push({ name: `model.layers.${l}.mlp.down_proj.weight`, shape: [HIDDEN, MLP] });
  }
  out.push({ name: 'lm_head.weight', shape: [VOCAB, HIDDEN] });
  return out;
}

/** bf16 of x (round to nearest even). */
function bf16Bits(x: number, f: Float32Array, u: Uint32Array): number {
  f[0] = x;
  const v = u[0]!;
  return ((v + 0x7fff + ((v >>> 16) & 1)) >>> 16) & 0xffff;
}

function writeModel(path: string, bytes: number, seed: number, fineTune: boolean): void {
  const list = specs(bytes);
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const s of list) {
    const n = 2 * s.shape[0] * s.shape[1];
    header[s.name] = { dtype: 'BF16', shape: s.shape, data_offsets: [at, at + n] };
    at += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, prefix);
  writeSync(fd, Buffer.from(json));
  const base = new SeededRandom(seed);
  const noise = new SeededRandom(seed + 1);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (const s of list) {
    const n = s.shape[0] * s.shape[1];
    const out = Buffer.allocUnsafe(2 * n);
    for (let i = 0; i < n; i++) {
      const w = base.gaussian() * 0.02 + (fineTune ? noise.gaussian() * 0.001 : 0);
      out.writeUInt16LE(bf16Bits(w, f, u), 2 * i);
    }
    writeSync(fd, out);
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** The base model and its fine-tune of about `bytes` bytes, generated once. */
export function llmFiles(bytes: number): { base: string; tuned: string } {
  const dir = join('.cache', 'scale');
  mkdirSync(dir, { recursive: true });
  const tag = `${Math.round(bytes / 2 ** 20)}m`;
  const base = join(dir, `llm-${tag}.safetensors`);
  const tuned = join(dir, `llm-${tag}-ft.safetensors`);
  if (!existsSync(base)) writeModel(base, bytes, 7, false);
  if (!existsSync(tuned)) writeModel(tuned, bytes, 7, true);
  return { base, tuned };
}
