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

interface Pt {
  x: number;
  y: number;
}

/** Cross product of (a - o) and (b - o). */
function cross(o: Pt, a: Pt, b: Pt): number {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

/** True when the slope of (b - a) is below the slope of (d - c) (all dx > 0). */
function slopeLess(a: Pt, b: Pt, c: Pt, d: Pt): boolean {
  return (b.y - a.y) * (d.x - c.x) < (d.y - c.y) * (b.x - a.x);
}

/** The streaming hull state of one segment under construction. */
class HullFit {
  private upper: Pt[] = [];
  private lower: Pt[] = [];
  private us = 0;
  private ls = 0;
  private rect: Pt[] = [];
  private n = 0;
  private lastX = -Infinity;

  constructor(private readonly eps: number) {}

  /** Adds (x, y); false when it does not fit (the segment must end before it). */
  add(x: number, y: number): boolean {
    if (x <= this.lastX) return true; // rounding collapsed two keys: the fallback search covers it
    const p1 = { x, y: y + this.eps };
    const p2 = { x, y: y - this.eps };
    if (this.n === 0) {
      this.rect = [p1, p2, p2, p1];
      this.upper = [p1];
      this.lower = [p2];
    } else if (this.n === 1) {
      this.rect[2] = p2;
      this.rect[3] = p1;
      this.upper.push(p1);
      this.lower.push(p2);
    } else if (!this.extend(p1, p2)) return false;
    this.lastX = x;
    this.n++;
    return true;
  }

  private extend(p1: Pt, p2: Pt): boolean {
    const r = this.rect;
    if (slopeLess(r[2], p1, r[0], r[2]) || slopeLess(r[1], r[3], r[3], p2)) return false;
    if (slopeLess(r[1], p1, r[1], r[3])) {
      let min = this.ls;
      for (let i = this.ls + 1; i < this.lower.length; i++) {
        if (slopeLess(this.lower[min], p1, this.lower[i], p1)) break;
        min = i;
      }
      r[1] = this.lower[min];
      r[3] = p1;
      this.ls = min;
      let end = this.upper.length;
      while (end >= this.us + 2 && cross(this.upper[end - 2], this.upper[end - 1], p1) <= 0) end--;
      this.upper.length = end;
      this.upper.push(p1);
    }
    if (slopeLess(r[0], r[2], r[0], p2)) {
      let max = this.us;
      for (let i = this.us + 1; i < this.upper.length; i++) {
        if (slopeLess(this.upper[i], p2, this.upper[max], p2)) break;
        max = i;
      }
      r[0] = this.upper[max];
      r[2] = p2;
      this.us = max;
      let end = this.lower.length;
      while (end >= this.ls + 2 && cross(this.lower[end - 2], this.lower[end - 1], p2) >= 0) end--;
      this.lower.length = end;
      this.lower.push(p2);
    }
    return true;
  }

  /** The line through the middle of the feasible rectangle: (slope, intercept at x = 0). */
  line(): { slope: number; intercept: number } {
    const r = this.rect;
    if (this.n < 2) return { slope: 0, intercept: (r[0].y + r[1].y) / 2 };
    const s1 = (r[2].y - r[0].y) / (r[2].x - r[0].x);
    const s2 = (r[3].y - r[1].y) / (r[3].x - r[1].x);
    // Both extreme lines are feasible, and so is any convex combination of them (in slope-intercept space).
    const b1 = r[0].y - s1 * r[0].x;
    const b2 = r[1].y - s2 * r[1].x;
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
