// What the CLI says about itself: --version against package.json, --help against the environment variables the
// sources actually read, `help COMMAND` for every command, and every worked example run again as printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { SHARED_MNIST_DIR, PROJECT_ROOT } from '../../scripts/fetch-fixtures.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { EXIT_CODES } from './exit-codes.js';
import { ENVIRONMENT, WORKED_EXAMPLES, explainProgram } from './help.js';
import { buildProgram, main, type CliIo } from './main.js';
import { outputShape, runCli as run } from './testing/run-cli.js';

test('--version and -V print the version of package.json', async () => {
  const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await run(flag);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `neurstore ${version} (Node.js ${process.version})\n`);
    assert.equal(r.stderr, '');
  }
});

/** Every `process.env.NAME` read by the code the CLI loads: src/cli/main.ts and what it imports, transitively. */
function envVarsRead(entry: string): Set<string> {
  const out = new Set<string>();
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(file, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');
    for (const m of code.matchAll(/process\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[['"]([^'"]+)['"]\])/g)) out.add(m[1] ?? m[2]!);
    for (const m of code.matchAll(/(?:from\s+|import\()\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      const next = join(dirname(file), `${m[1]}.ts`);
      if (existsSync(next)) queue.push(next);
    }
  }
  return out;
}

test('--help lists every environment variable the CLI reads, the exit codes and where to go next', async () => {
  const r = await run('--help');
  assert.equal(r.code, 0);
  const read = envVarsRead(join(PROJECT_ROOT, 'src', 'cli', 'main.ts'));
  assert.ok(read.has('NEURSTORE_DIR'), 'the oracle finds the variable main.ts reads');
  const listed = new Set(ENVIRONMENT.map(([n]) => n));
  for (const name of read) {
    assert.ok(listed.has(name), `${name} is read by the sources but not listed in --help`);
    assert.match(r.stdout, new RegExp(`^  ${name}\\s+\\S`, 'm'));
  }
  for (const [code, exit] of Object.entries(EXIT_CODES)) assert.ok(r.stdout.includes(`${exit} ${code === 'INTERNAL' ? 'anything else' : code}`), code);
  assert.match(r.stdout, /neurstore help COMMAND/);
  assert.match(r.stdout, /docs\/getting-started\.md/);
  assert.match(r.stdout, /^ {2}-V, --version/m);
});

test('help COMMAND shows the options and the worked example; an unknown command is named with the list', async () => {
  const commands = buildProgram().commands.map((c) => c.name()).filter((n) => n !== 'help');
  const missing: string[] = [];
  for (const name of commands) {
    const r = await run('help', name);
    assert.equal(r.code, 0, `help ${name}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: neurstore ${name} `, 'm'));
    const example = WORKED_EXAMPLES[name];
    if (!example) {
      missing.push(name);
      continue;
    }
    assert.ok(r.stdout.includes(`Example:\n  $ neurstore ${example.args}\n${example.output.map((l) => `  ${l}\n`).join('')}`), name);
    assert.equal((await run(name, '--help')).stdout, r.stdout, `${name} --help is the same text`);
  }
  for (const name of Object.keys(WORKED_EXAMPLES)) assert.ok(commands.includes(name), `the example of '${name}' has no command`);
  if (missing.length) console.log(`# commands without a worked example yet: ${missing.join(', ')}`);
  for (const core of ['init', 'put', 'get', 'ls', 'info', 'rm', 'gc', 'stats', 'sweep', 'load']) assert.ok(!missing.includes(core), core);

  assert.equal((await run('help')).stdout, (await run('--help')).stdout);
  const bad = await run('help', 'pur');
  assert.equal(bad.code, EXIT_CODES.INVALID_ARGUMENT);
  assert.match(bad.stderr, /^neurstore: INVALID_ARGUMENT: no command 'pur'; the commands are init, put, /);
});

test('a command without a worked example still has its help', async () => {
  let stdout = '';
  const program = new Command('neurstore').exitOverride().configureOutput({ writeOut: (s) => (stdout += s) });
  program.command('fresh').description('a command added after the examples were written');
  explainProgram(program);
  await program.parseAsync(['help', 'fresh'], { from: 'user' });
  assert.match(stdout, /^Usage: neurstore fresh/);
  assert.doesNotMatch(stdout, /Example:/);
});

/** Output compared line by line with numbers (sizes, ratios, errors, timings) and runs of spaces evened out. */
const shape = (lines: readonly string[]): string[] => lines.map(outputShape);

test('the worked examples, run in order from an empty home directory, print what help shows', async (t) => {
  const home = tempDir();
  symlinkSync(join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors'), join(home, 'mnist.safetensors'));
  symlinkSync(join(SHARED_MNIST_DIR, 'model_4fe0665.safetensors'), join(home, 'mnist-v2.safetensors'));
  const prevDir = process.env.NEURSTORE_DIR;
  const prevCwd = process.cwd();
  process.env.NEURSTORE_DIR = join(home, '.neurstore');
  process.chdir(home);
  try {
    for (const [name, e] of Object.entries(WORKED_EXAMPLES)) {
      await t.test(`neurstore ${e.args}`, async () => {
        let printed = '';
        const io: CliIo = { out: (l) => (printed += l + '\n'), err: (s) => (printed += s), tty: false };
        const code = await main(e.args.split(' '), io);
        assert.equal(code, 0, `${name}: ${printed}`);
        const lines = printed.replaceAll(home, '/home/me').replace(/\n$/, '').split('\n');
        assert.deepEqual(shape(lines), shape(e.output));
      });
    }
    assert.deepEqual(readFileSync(join(home, 'back', 'mnist.safetensors')), readFileSync(join(home, 'mnist.safetensors')), 'get wrote the file back byte-identical');
  } finally {
    process.chdir(prevCwd);
    if (prevDir === undefined) delete process.env.NEURSTORE_DIR;
    else process.env.NEURSTORE_DIR = prevDir;
  }
});
