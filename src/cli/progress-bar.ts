/**
 * A progress bar on stderr, drawn only when stderr is a terminal (scripts and CI get clean output), redrawn at
 * most every 100 ms. Shows percent, bytes done of total, throughput and the time left at that rate.
 */
import { formatBytes } from './format-output.js';

const WIDTH = 28;
const REDRAW_MS = 100;

export class ProgressBar {
  private lastDraw = 0;
  private readonly started = Date.now();
  private drawn = false;

  constructor(
    private readonly label: string,
    /** Where to draw; undefined draws nothing (not a terminal). */
    private readonly stream: NodeJS.WriteStream | undefined,
  ) {}

  get enabled(): boolean {
    return this.stream !== undefined;
  }

  update(done: number, total: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < REDRAW_MS && done < total) return;
    this.lastDraw = now;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * WIDTH);
    const secs = Math.max(0.001, (now - this.started) / 1000);
    const rate = done / secs;
    const eta = rate > 0 && done < total ? ` ETA ${clock((total - done) / rate)}` : '';
    const line =
      `${this.label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
      `${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s${eta}`;
    this.stream!.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stream!.write('\r\x1b[K');
  }
}

/** Seconds as m:ss (or h:mm:ss). */
function clock(seconds: number): string {
  const s = Math.ceil(seconds);
  const mmss = `${Math.floor((s % 3600) / 60)}:${String(s % 60).padStart(2, '0')}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mmss.padStart(5, '0')}` : mmss;
}
