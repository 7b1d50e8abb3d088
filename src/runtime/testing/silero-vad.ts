/**
 * Test support: seeded speech-like audio and a Silero VAD runner that feeds it frame by frame as the model
 * expects (recurrent state carried; v5/v6's sample context prepended), for checking rewritten or stored
 * Silero models against the original on real-looking input.
 */
import * as ort from 'onnxruntime-node';
import { SeededRandom } from '../../env/seeded-random.js';

/** Seeded speech-like audio: a gliding voiced source with harmonics, a syllable envelope, and noise. */
export function speechLike(sr: number, seconds: number, seed: number): Float32Array {
  const rand = new SeededRandom(seed);
  const f0 = 100 + 120 * rand.next();
  const syllablesHz = 3 + 2 * rand.next();
  const out = new Float32Array(Math.round(sr * seconds));
  let phase = 0;
  for (let i = 0; i < out.length; i++) {
    const t = i / sr;
    phase += (2 * Math.PI * f0 * (1 + 0.08 * Math.sin(2 * Math.PI * 1.7 * t))) / sr;
    let voiced = 0;
    for (let k = 1; k <= 10; k++) voiced += Math.sin(k * phase + k) / k;
    const envelope = Math.sin(Math.PI * syllablesHz * t) ** 2;
    out[i] = 0.3 * envelope * voiced + 0.01 * rand.gaussian();
  }
  return out;
}

export interface VadRun { probs: Float32Array; states: Float32Array }

/** Runs Silero over `audio` frame by frame, carrying the state (and v5/v6's sample context). */
export async function runVadSession(session: ort.InferenceSession, sr: number, audio: Float32Array): Promise<VadRun> {
  const legacy = session.inputNames.includes('h');
  const frame = sr === 16000 ? 512 : 256;
  const contextSize = legacy ? 0 : sr === 16000 ? 64 : 32;
  let context = new Float32Array(contextSize);
  let state: Record<string, ort.Tensor> = legacy
    ? { h: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]), c: new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]) }
    : { state: new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]) };
  const probs: number[] = [];
  const states: number[] = [];
  for (let at = 0; at + frame <= audio.length; at += frame) {
    const x = new Float32Array(contextSize + frame);
    x.set(context);
    x.set(audio.subarray(at, at + frame), contextSize);
    context = x.slice(x.length - contextSize);
    const sampleRate = new ort.Tensor('int64', BigInt64Array.of(BigInt(sr)), []);
    const r = await session.run({ input: new ort.Tensor('float32', x, [1, x.length]), sr: sampleRate, ...state });
    state = legacy ? { h: r['hn']!, c: r['cn']! } : { state: r['stateN']! };
    probs.push(...(r['output']!.data as Float32Array));
    for (const s of Object.values(state)) states.push(...(s.data as Float32Array));
  }
  return { probs: Float32Array.from(probs), states: Float32Array.from(states) };
}

