/**
 * What the CLI says about itself: `--version`/`-V`, the environment variables and exit codes under `--help`,
 * and `help COMMAND`: the command's options and one worked example (also shown by `COMMAND --help`).
 *
 * Every example's output is what the command printed, run in this order, on the MNIST checkpoints of
 * `../shared/fixtures/mnist-tinygrad/` (linked as `mnist.safetensors` and `mnist-v2.safetensors`) with the store in
 * `~/.neurstore`; `help.test.ts` runs them again and compares every line, numbers aside. A command without an
 * example (a new one) gets its options only.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { invalidArgument } from '../errors.js';
import { EXIT_CODES } from './exit-codes.js';

export interface WorkedExample {
  /** The arguments after `neurstore`, as typed in a shell (no quoting needed). */
  readonly args: string;
  /** What it printed (sizes, ratios, errors and timings vary with the version and the machine). */
  readonly output: readonly string[];
  /** What it shows and where to go from there. */
  readonly note: string;
}

/** One worked example per command, in an order that runs as a session from an empty home directory. */
export const WORKED_EXAMPLES: Readonly<Record<string, WorkedExample>> = {
  init: {
    args: 'init',
    output: ['initialized NeurStore in /home/me/.neurstore'],
    note: 'Creates the store in $NEURSTORE_DIR, else ~/.neurstore (`neurstore init DIR` or `--store DIR` to choose ' +
      'another). Running it again changes nothing.',
  },
  put: {
    args: 'put mnist.safetensors --name mnist --tag task=digits',
    output: ['stored mnist (lossless): 2 tensors, 397.2 KB in, 327.6 KB new on disk (1.21x), max error 0.00e+0'],
    note: 'Stores the file bit-exact. `--tolerance 1e-3` stores it with every element within 1e-3 instead (several ' +
      'times smaller); `--dry-run` reports the ratio and max error and stores nothing. A TF.js model is put by its ' +
      'model.json (its shards are found beside it), an ONNX model by its .onnx file, a sharded safetensors ' +
      'checkpoint by its model.safetensors.index.json or its directory.',
  },
  ls: {
    args: 'ls',
    output: [
      'NAME   FORMAT       TENSORS      SIZE  NEW BYTES  TAGS',
      'mnist  safetensors        2  397.2 KB   327.6 KB  task=digits',
    ],
    note: 'Every model: its format, tensors, original size and the bytes it added on disk (tensors already stored ' +
      'cost nothing). `--json` for scripts.',
  },
  info: {
    args: 'info mnist',
    output: [
      'mnist  format safetensors  mode lossless  files mnist.safetensors',
      '397.2 KB in, 327.6 KB new on disk, max error 0.00e+0',
      'tags: task=digits',
      '#  TENSOR     DTYPE  SHAPE        BYTES  STORED AS   BITS  BASE',
      '0  l1.weight  F32    [128, 784]  401408  lossless   26.38',
      '1  l2.weight  F32    [10, 128]     5120  lossless   26.68',
    ],
    note: 'How each tensor is stored (duplicate, lossless, delta, ...), in how many bits per element, and for a ' +
      'delta the stored tensor it is a delta of (a fine-tune put with --tolerance names its base here).',
  },
  get: {
    args: 'get mnist -o back/mnist.safetensors',
    output: ['wrote /home/me/back/mnist.safetensors'],
    note: 'Writes the model back, byte-identical to the file that was put (`cmp mnist.safetensors ' +
      'back/mnist.safetensors` says nothing). `--format tfjs` (or gguf, safetensors) converts its tensors instead.',
  },
  load: {
    args: 'load mnist --mode int8+delta --check',
    output: [
      'TENSOR     DTYPE  SHAPE       FORM           MEMORY  MAX ERROR',
      'l1.weight  F32    [128, 784]  int8+delta8  196.0 KB  1.91e-4',
      'l2.weight  F32    [10, 128]   int8+delta8    2.5 KB  3.67e-4',
      'loaded mnist (int8+delta): 2 tensors, 198.5 KB in memory, 0.185 s, max error 3.67e-4',
    ],
    note: 'Loads every tensor as an 8-bit base plus a residual, within 1e-3 of the exact values (half the fp32 ' +
      'memory); --check measures that error. `--session` also builds the ONNX Runtime session or TF.js model.',
  },
  sweep: {
    args: 'sweep mnist-v2.safetensors --tolerances 1e-4,1e-3,1e-2',
    output: [
      'TOLERANCE   RATIO  MAX ERROR  METRIC',
      '1e-4        3.67x  9.99e-5    -',
      '1e-3        6.01x  9.99e-4    -',
      '1e-2       14.76x  9.99e-3    -',
    ],
    note: 'What each tolerance would save on this file, given what the store already holds (it keeps nothing). ' +
      '`--eval metric.mjs` adds your own metric (its default export: async (modelPath) => number) per tolerance.',
  },
  stats: {
    args: 'stats',
    output: [
      'MODELS  TENSORS  BYTES IN   ON DISK  RATIO  DEDUP HITS',
      '     1        2  397.2 KB  340.8 KB  1.17x           0',
    ],
    note: 'The whole store: the bytes put in against everything on disk (segments and catalog), and how many ' +
      'tensors were stored once for several models.',
  },
  verify: {
    args: 'verify',
    output: ['checked 1 model(s), 2 tensor(s), 397.0 KB', 'no damage found'],
    note: 'Re-reads every record the models need and checks its checksums and SHA-256 (`verify NAME`: one ' +
      'model). On damage it names the models and tensors hit and exits 5; putting an intact copy of the file ' +
      'again heals a damaged record, `repair` a lost manifest.',
  },
  repair: {
    args: 'repair',
    output: ['manifest intact', 'checked 1 model(s), 2 tensor(s), 397.0 KB', 'no damage found'],
    note: 'Rebuilds a lost or damaged MANIFEST from the segments (deleting nothing), then verifies and reports ' +
      'which models lost which tensors (exit 5 while damage remains; `rm` what cannot be recovered).',
  },
  copy: {
    args: 'copy --to backup mnist',
    output: [
      'copied mnist: 3 record(s) written (331.2 KB), 0 already there',
      '1 model(s) copied, 0 skipped, 331.2 KB written to /home/me/backup',
    ],
    note: 'Copies the model as it is stored (byte-exact, every mode) into another store, created when missing: ' +
      '--to and --from take a directory or a postgres:// URL (`--from` defaults to the store); without names, every ' +
      'model. Records the destination holds already are not written again; a model already there with the same ' +
      'content is skipped, so running the copy again resumes it. A name or record there with other content is ' +
      'CONFLICT (exit 4), nothing of that model written.',
  },
  rm: {
    args: 'rm mnist',
    output: ['removed mnist'],
    note: 'Removes the model; its space returns at the next `gc` (tensors other models share stay).',
  },
  gc: {
    args: 'gc',
    output: ['dropped 12 record(s), reclaimed 327.7 KB'],
    note: 'Deletes the data no model references and gives the space back.',
  },
};

/** The environment variables the CLI reads, as `--help` lists them. */
export const ENVIRONMENT: ReadonlyArray<readonly [name: string, meaning: string]> = [
  ['NEURSTORE_URL', 'a postgres:// URL of the store when --store is not given (wins over NEURSTORE_DIR)'],
  ['NEURSTORE_DIR', 'the store directory when neither --store nor NEURSTORE_URL is given (default: ~/.neurstore)'],
  ['HOME', 'where the default store, ~/.neurstore, lives'],
];

/** `neurstore 0.1.0 (Node.js v20.20.2)`: the package's version, read from its package.json. */
export function versionText(): string {
  // src/cli/ and dist/cli/ are both two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `neurstore ${pkg.version} (Node.js ${process.version})`;
}

/** The example as `help COMMAND` prints it. */
export function exampleText(e: WorkedExample): string {
  return ['', 'Example:', `  $ neurstore ${e.args}`, ...e.output.map((l) => `  ${l}`), '', ...wrap(words(e.note), 78).map((l) => `  ${l}`)].join('\n');
}

function programEpilogue(): string {
  const width = Math.max(...ENVIRONMENT.map(([n]) => n.length));
  const codes = Object.entries(EXIT_CODES).map(([code, exit]) => `${exit} ${code === 'INTERNAL' ? 'anything else (a bug)' : code}`);
  return [
    '',
    'Environment:',
    ...ENVIRONMENT.map(([n, m]) => `  ${n.padEnd(width)}  ${m}`),
    '',
    'Errors print one line, `neurstore: CODE: message`, and exit with:',
    ...wrap(['0 success', ...codes], 76, ', ').map((l) => `  ${l}`),
    '',
    'Run `neurstore help COMMAND` for a command\'s options and a worked example;',
    'docs/getting-started.md walks through put, info, get, load and sweep.',
  ].join('\n');
}

/**
 * Adds `--version`/`-V`, the environment and exit codes to `--help`, each command's worked example to its help,
 * and the `help [command]` command. Call it once every command has been added.
 */
export function explainProgram(program: Command): Command {
  program.version(versionText(), '-V, --version', 'print the version');
  program.addHelpText('after', programEpilogue());
  for (const cmd of program.commands) {
    const example = WORKED_EXAMPLES[cmd.name()];
    if (example) cmd.addHelpText('after', exampleText(example));
  }
  program.helpCommand(false);
  program
    .command('help [command]')
    .description('show a command\'s options and a worked example')
    .action((name: string | undefined) => {
      if (name === undefined) return program.outputHelp();
      const cmd = program.commands.find((c) => c.name() === name || c.aliases().includes(name));
      if (!cmd) {
        const names = program.commands.map((c) => c.name()).filter((n) => n !== 'help');
        throw invalidArgument(`no command '${name}'; the commands are ${names.join(', ')}`);
      }
      cmd.outputHelp();
    });
  return program;
}

/** Greedy wrap at `width` columns of `items` joined by `sep` (a line breaks only between items). */
function wrap(items: readonly string[], width: number, sep = ' '): string[] {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    if (line && line.length + sep.length + item.length > width) {
      lines.push(line + sep.trimEnd());
      line = item;
    } else {
      line = line ? `${line}${sep}${item}` : item;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function words(text: string): string[] {
  return text.split(/\s+/);
}
