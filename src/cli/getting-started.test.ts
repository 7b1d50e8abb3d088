// docs/getting-started.md stays true: every command of its ```sh blocks runs, in order, in one bash session
// from a directory laid out like a checkout after `npm run demo` (bin/ and .cache/fixtures/ linked to this
// one's); each exits 0 with nothing on stderr (no warnings), and the ```text block after a ```sh block is what
// those commands printed, line for line ("..." skips lines), with numbers and the checkout's path evened out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR, PROJECT_ROOT, ensureFixtures } from '../../scripts/fetch-fixtures.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { outputShape } from './testing/run-cli.js';

const DOC = join(PROJECT_ROOT, 'docs', 'getting-started.md');
/** Where the page says the checkout is. */
const SHOWN_ROOT = '/home/me/neurstore';

interface Step {
  readonly commands: readonly string[];
  /** The ```text block that follows, if any. */
  readonly output?: readonly string[];
}

/** The page's ```sh blocks (one command a line, `#` comments skipped), each with the ```text block after it. */
export function stepsOf(markdown: string): Step[] {
  const blocks = [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, lines: m[2]!.replace(/\n$/, '').split('\n') }));
  const steps: Step[] = [];
  blocks.forEach((b, i) => {
    if (b.lang !== 'sh') return;
    const next = blocks[i + 1];
    steps.push({
      commands: b.lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')),
      output: next?.lang === 'text' ? next.lines : undefined,
    });
  });
  return steps;
}

const shape = outputShape;

/** True when `actual` is `shown` line for line, where a "..." line in `shown` stands for any number of lines. */
export function matches(shown: readonly string[], actual: readonly string[]): boolean {
  const go = (i: number, j: number): boolean => {
    if (i === shown.length) return j === actual.length;
    if (shown[i] === '...') return go(i + 1, j) || (j < actual.length && go(i, j + 1));
    return j < actual.length && shape(shown[i]!) === shape(actual[j]!) && go(i + 1, j + 1);
  };
  return go(0, 0);
}

test('the matcher: lines in order, "..." skips, numbers and spacing evened out', () => {
  assert.ok(matches(['a 1.5 MB', '...', 'z'], ['a  2.0 MB', 'b', 'c', 'z']));
  assert.ok(matches(['...'], []));
  assert.ok(!matches(['a', 'z'], ['a', 'b', 'z']), 'a gap needs "..."');
  assert.ok(!matches(['a'], ['a', 'b']), 'trailing lines need "..."');
  assert.ok(!matches(['stored x'], ['stored y']));
});

test('docs/getting-started.md: every command runs as shown and prints what the page says', () => {
  ensureFixtures();
  const steps = stepsOf(readFileSync(DOC, 'utf8'));
  const commands = steps.flatMap((s) => s.commands);
  for (const verb of ['put', 'info', 'get', 'load', 'sweep']) {
    assert.ok(commands.some((c) => c.startsWith(`./bin/neurstore.js ${verb} `)), `the page walks through ${verb}`);
  }

  const root = tempDir();
  symlinkSync(join(PROJECT_ROOT, 'bin'), join(root, 'bin'));
  mkdirSync(join(root, '.cache'));
  symlinkSync(FIXTURES_DIR, join(root, '.cache', 'fixtures'));
  // One bash session (exports carry over); markers split what each command printed on stdout and stderr.
  const script = commands.map((c, i) =>
    `printf '\\036%d\\n' ${i}; printf '\\036%d\\n' ${i} >&2; ${c}\nprintf '\\037%d %d\\n' ${i} $?`).join('\n');
  const env = { ...process.env };
  delete env.NEURSTORE_DIR;
  const r = spawnSync('bash', ['-c', script], { cwd: root, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const split = (text: string) => text.split('\x1e').slice(1).map((part) => part.slice(part.indexOf('\n') + 1));
  const outs = split(r.stdout);
  const errs = split(r.stderr);
  assert.equal(outs.length, commands.length);

  let k = 0;
  for (const step of steps) {
    const printed: string[] = [];
    for (const c of step.commands) {
      const [body, status] = outs[k]!.split('\x1f');
      assert.equal(Number(status!.split(' ')[1]), 0, `\`${c}\` failed:\n${body}${errs[k]}`);
      assert.equal(errs[k], '', `\`${c}\` printed on stderr`);
      printed.push(...body!.replaceAll(root, SHOWN_ROOT).split('\n').filter((l, i, a) => i < a.length - 1 || l !== ''));
      k++;
    }
    if (step.output) assert.ok(matches(step.output, printed), `after ${step.commands.join(' && ')}\nthe page shows:\n${step.output.join('\n')}\nbut it printed:\n${printed.join('\n')}`);
  }
});
