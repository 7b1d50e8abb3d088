/** Test support: the CLI run in-process with what it prints captured, and printed output compared by shape. */
import { main } from '../main.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `neurstore ...args` in-process and returns its exit code and what it printed. */
export async function runCli(...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { out: (l) => (stdout += l + '\n'), err: (t) => (stderr += t), tty: false });
  return { code, stdout, stderr };
}

/** A printed line with its numbers (sizes, ratios, errors, timings) and runs of spaces evened out. */
export function outputShape(line: string): string {
  return line.replace(/\d+(?:\.\d+)?(?:e[+-]?\d+)?/g, '#').replace(/\s+/g, ' ').trim();
}
