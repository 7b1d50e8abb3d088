/**
 * Writes a dense multi-layer perceptron as an ONNX model: `y = W_k · act(... act(W_1 · x + b_1) ...) + b_k`,
 * one `Gemm` per layer (weights kept in the PyTorch/safetensors layout [out, in], so `transB = 1`) and an
 * activation between layers. It exists so that models trained as plain weight files (the MNIST family is
 * safetensors) can be stored and run as ONNX graphs; the input is `[N, in]` float32 with a symbolic batch
 * dimension, the output `[N, out]`. Pure: returns the bytes of a self-contained .onnx file.
 */
import { invalidArgument } from '../../errors.js';
import { encodeOnnxModel } from './onnx-proto.js';

/** One layer: `weight` row-major [out, in]; `bias` of length out, or none. */
export interface DenseLayer {
  readonly name: string;
  readonly weight: Float32Array;
  readonly shape: readonly [number, number];
  readonly bias?: Float32Array;
}

export type DenseActivation = { readonly kind: 'relu' } | { readonly kind: 'leaky_relu'; readonly alpha: number } | { readonly kind: 'sigmoid' } | { readonly kind: 'tanh' };

export interface DenseMlpSpec {
  readonly layers: readonly DenseLayer[];
  /** Applied after every layer but the last. */
  readonly activation: DenseActivation;
  /** Graph input and output names (default `input`, `output`). */
  readonly inputName?: string;
  readonly outputName?: string;
  /** Written into the model's doc_string and graph name. */
  readonly name?: string;
}

const ONNX_FLOAT = 1;
const OPSET = 17;
const IR_VERSION = 8;

const ACTIVATION_OP = { relu: 'Relu', leaky_relu: 'LeakyRelu', sigmoid: 'Sigmoid', tanh: 'Tanh' } as const;

function checkLayers(layers: readonly DenseLayer[]): void {
  if (layers.length === 0) throw invalidArgument('a dense MLP needs at least one layer');
  layers.forEach((l, i) => {
    const [out, inp] = l.shape;
    if (!(out > 0 && inp > 0) || l.weight.length !== out * inp) {
      throw invalidArgument(`layer ${i} ('${l.name}'): weight has ${l.weight.length} values, shape [${out}, ${inp}] needs ${out * inp}`);
    }
    if (l.bias && l.bias.length !== out) throw invalidArgument(`layer ${i} ('${l.name}'): bias has ${l.bias.length} values, expected ${out}`);
    const prev = layers[i - 1];
    if (prev && prev.shape[0] !== inp) throw invalidArgument(`layer ${i} ('${l.name}') takes ${inp} inputs but layer ${i - 1} gives ${prev.shape[0]}`);
  });
}

function floatTensor(name: string, dims: readonly number[], values: Float32Array): Record<string, unknown> {
  return { name, data_type: ONNX_FLOAT, dims: [...dims], raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice() };
}

function valueInfo(name: string, features: number): Record<string, unknown> {
  return { name, type: { tensor_type: { elem_type: ONNX_FLOAT, shape: { dim: [{ dim_param: 'N' }, { dim_value: features }] } } } };
}

/** The ONNX bytes of `spec`. Throws INVALID_ARGUMENT when the layer shapes do not chain. */
export function denseMlpOnnx(spec: DenseMlpSpec): Uint8Array {
  checkLayers(spec.layers);
  const input = spec.inputName ?? 'input';
  const output = spec.outputName ?? 'output';
  const initializer: Record<string, unknown>[] = [];
  const node: Record<string, unknown>[] = [];
  let x = input;
  spec.layers.forEach((l, i) => {
    const last = i === spec.layers.length - 1;
    initializer.push(floatTensor(l.name, l.shape, l.weight));
    const inputs = [x, l.name];
    if (l.bias) {
      initializer.push(floatTensor(`${l.name}.bias`, [l.shape[0]], l.bias));
      inputs.push(`${l.name}.bias`);
    }
    const y = last ? output : `h${i}`;
    node.push({ name: `gemm${i}`, op_type: 'Gemm', input: inputs, output: [y], attribute: [{ name: 'transB', type: 2, i: 1 }] });
    x = y;
    if (!last) {
      const a = spec.activation;
      const attribute = a.kind === 'leaky_relu' ? [{ name: 'alpha', type: 1, f: a.alpha }] : [];
      node.push({ name: `act${i}`, op_type: ACTIVATION_OP[a.kind], input: [y], output: [`a${i}`], attribute });
      x = `a${i}`;
    }
  });
  const first = spec.layers[0]!;
  const last = spec.layers[spec.layers.length - 1]!;
  return encodeOnnxModel({
    ir_version: IR_VERSION,
    producer_name: 'neurstore',
    doc_string: spec.name ?? 'dense MLP',
    opset_import: [{ domain: '', version: OPSET }],
    graph: {
      name: spec.name ?? 'dense_mlp', node, initializer,
      input: [valueInfo(input, first.shape[1])], output: [valueInfo(output, last.shape[0])],
    },
  });
}
