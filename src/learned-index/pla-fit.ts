/**
 * Optimal piecewise-linear approximation (the convex-hull method of O'Rourke, as used by the PGM-index):
 * streams sorted keys and cuts them into the fewest segments such that a line predicts every key's position
 * within +-epsilon. Each point (x, y) stands for the vertical range [y - eps, y + eps]; the algorithm keeps the
 * upper and lower convex hulls of those ranges and the rectangle of extreme feasible lines, and starts a new
 * segment when a new range lies outside every feasible line.
 *
 * x is the key's distance from the segment's first key as a double, so 64-bit keys keep full precision near
 * the segment; keys that collapse to the same double (beyond 2^53 apart only) are skipped by the hull and
 * caught by the lookup's fallback search.
 */
import { diff64, PairRun } from './u64.js';

/** One fitted segment: keys [start, end) of the run, position ~ intercept + slope * (key - key[start]). */
export interface Segment {
  start: number;
  end: number;
  slope: number;
  intercept: number;
}

/** True when the slope of (b - a) is below the slope of (d - c) (all dx > 0). */
function slopeLess(ax: number, ay: number, bx: number, by: number, cx: number, cy: number, dx: number, dy: number): boolean {
  return (by - ay) * (dx - cx) < (dy - cy) * (bx - ax);
}

/** Cross product of (a - o) and (b - o). */
function cross(ox: number, oy: number, ax: number, ay: number, bx: number, by: number): number {
  return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox);
}

/** A stack of points in two growable float64 columns (no object per point: fitting allocates nothing per key). */
class Points {
  x = new Float64Array(64);
  y = new Float64Array(64);
  length = 0;

  push(x: number, y: number): void {
    if (this.length === this.x.length) {
      const nx = new Float64Array(2 * this.length);
      const ny = new Float64Array(2 * this.length);
      nx.set(this.x);
      ny.set(this.y);
      this.x = nx;
      this.y = ny;
    }
    this.x[this.length] = x;
    this.y[this.length++] = y;
  }
}

/**
 * The streaming hull state of one segment under construction. The feasible rectangle is four points
 * r0..r3 (r0, r2 bound the steepest feasible line, r1, r3 the shallowest), kept as scalars.
 */
class HullFit {
  private readonly upper = new Points();
  private readonly lower = new Points();
  private us = 0;
  private ls = 0;
  private r0x = 0;
  private r0y = 0;
  private r1x = 0;
  private r1y = 0;
  private r2x = 0;
  private r2y = 0;
  private r3x = 0;
  private r3y = 0;
  private n = 0;
  private lastX = -Infinity;

  constructor(private readonly eps: number) {}

  /** Adds (x, y); false when it does not fit (the segment must end before it). */
  add(x: number, y: number): boolean {
    if (x <= this.lastX) return true; // rounding collapsed two keys: the fallback search covers it
    const y1 = y + this.eps;
    const y2 = y - this.eps;
    if (this.n === 0) {
      this.r0x = this.r3x = this.r1x = this.r2x = x;
      this.r0y = this.r3y = y1;
      this.r1y = this.r2y = y2;
      this.upper.push(x, y1);
      this.lower.push(x, y2);
    } else if (this.n === 1) {
      this.r2x = x;
      this.r2y = y2;
      this.r3x = x;
      this.r3y = y1;
      this.upper.push(x, y1);
      this.lower.push(x, y2);
    } else if (!this.extend(x, y1, y2)) return false;
    this.lastX = x;
    this.n++;
    return true;
  }

  /** Adds the range [y2, y1] at x: p1 = (x, y1), p2 = (x, y2). */
  private extend(x: number, y1: number, y2: number): boolean {
    if (slopeLess(this.r2x, this.r2y, x, y1, this.r0x, this.r0y, this.r2x, this.r2y)) return false;
    if (slopeLess(this.r1x, this.r1y, this.r3x, this.r3y, this.r3x, this.r3y, x, y2)) return false;
    const up = this.upper;
    const lo = this.lower;
    if (slopeLess(this.r1x, this.r1y, x, y1, this.r1x, this.r1y, this.r3x, this.r3y)) {
      let min = this.ls;
      for (let i = this.ls + 1; i < lo.length; i++) {
        if (slopeLess(lo.x[min]!, lo.y[min]!, x, y1, lo.x[i]!, lo.y[i]!, x, y1)) break;
        min = i;
      }
      this.r1x = lo.x[min]!;
      this.r1y = lo.y[min]!;
      this.r3x = x;
      this.r3y = y1;
      this.ls = min;
      let end = up.length;
      while (end >= this.us + 2 && cross(up.x[end - 2]!, up.y[end - 2]!, up.x[end - 1]!, up.y[end - 1]!, x, y1) <= 0) end--;
      up.length = end;
      up.push(x, y1);
    }
    if (slopeLess(this.r0x, this.r0y, this.r2x, this.r2y, this.r0x, this.r0y, x, y2)) {
      let max = this.us;
      for (let i = this.us + 1; i < up.length; i++) {
        if (slopeLess(up.x[i]!, up.y[i]!, x, y2, up.x[max]!, up.y[max]!, x, y2)) break;
        max = i;
      }
      this.r0x = up.x[max]!;
      this.r0y = up.y[max]!;
      this.r2x = x;
      this.r2y = y2;
      this.us = max;
      let end = lo.length;
      while (end >= this.ls + 2 && cross(lo.x[end - 2]!, lo.y[end - 2]!, lo.x[end - 1]!, lo.y[end - 1]!, x, y2) >= 0) end--;
      lo.length = end;
      lo.push(x, y2);
    }
    return true;
  }

  /** The line through the middle of the feasible rectangle: (slope, intercept at x = 0). */
  line(): { slope: number; intercept: number } {
    if (this.n < 2) return { slope: 0, intercept: (this.r0y + this.r1y) / 2 };
    const s1 = (this.r2y - this.r0y) / (this.r2x - this.r0x);
    const s2 = (this.r3y - this.r1y) / (this.r3x - this.r1x);
    // Both extreme lines are feasible, and so is any convex combination of them (in slope-intercept space).
    const b1 = this.r0y - s1 * this.r0x;
    const b2 = this.r1y - s2 * this.r1x;
    return { slope: (s1 + s2) / 2, intercept: (b1 + b2) / 2 };
  }
}

/**
 * Segments covering keys [from, to) of `run`, each at most `maxKeys` long, every key predicted within
 * `eps` (up to double rounding of keys more than 2^53 apart). `run` must be strictly ascending.
 */
export function fitSegments(run: PairRun, eps: number, maxKeys: number, from = 0, to = run.length): Segment[] {
  const out: Segment[] = [];
  let start = from;
  while (start < to) {
    const fit = new HullFit(eps);
    const hi0 = run.khi[start];
    const lo0 = run.klo[start];
    let i = start;
    const limit = Math.min(to, start + maxKeys);
    while (i < limit && fit.add(diff64(run.khi[i], run.klo[i], hi0, lo0), i - start)) i++;
    const { slope, intercept } = fit.line();
    out.push({ start, end: i, slope, intercept });
    start = i;
  }
  return out;
}
