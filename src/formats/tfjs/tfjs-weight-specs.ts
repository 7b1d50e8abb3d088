/**
 * What a stored TF.js model's tensors mean beyond their bytes: for each tensor of the layout, the manifest's
 * own dtype and quantization (scale, min), read back from the architecture. Conversions need it to
 * dequantize, and `writeTfjsWeights(tfjsWeightSpecs(arch), ...)` rebuilds the same manifest entries.
 */
import { decodeTfjsArchitecture } from './tfjs-architecture.js';
import { parseJsonBytes, parseTfjsManifest } from './tfjs-manifest.js';
import type { TfjsWeightSpec } from './tfjs-weights-writer.js';

/**
 * One spec per tensor of the layout `readTfjs` produced from this architecture (string weights, which are
 * not tensors, are skipped). Names are the manifest's (a repeated name stays repeated). Throws
 * INVALID_ARGUMENT when the architecture is not a TF.js one.
 */
export function tfjsWeightSpecs(architecture: Uint8Array): TfjsWeightSpec[] {
  const arch = decodeTfjsArchitecture(architecture);
  const manifest = parseTfjsManifest(parseJsonBytes(arch.json, arch.jsonFile), arch.jsonFile);
  const specs: TfjsWeightSpec[] = [];
  for (const group of manifest.groups) {
    for (const w of group.weights) {
      if (w.byteLength === undefined) continue;
      const spec: TfjsWeightSpec = { name: w.name, dtype: w.dtype, shape: w.shape, tfjsDtype: w.tfjsDtype };
      specs.push(w.quantization === undefined ? spec : { ...spec, quantization: w.quantization });
    }
  }
  return specs;
}
