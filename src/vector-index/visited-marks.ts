/**
 * The "visited" set of one graph search, reset in O(1): each search takes a new epoch number and a slot
 * counts as visited when its mark equals the current epoch, so no per-search allocation or clearing.
 */

/** Visited marks over slots [0, capacity); grows on `begin`. */
export class VisitedMarks {
  private marks = new Uint32Array(0);
  private epoch = 0;

  /** Starts a new search over `slots` slots; every slot reads as unvisited afterwards. */
  begin(slots: number): void {
    if (this.marks.length < slots) {
      this.marks = new Uint32Array(Math.max(16, slots * 2));
      this.epoch = 0;
    }
    if (++this.epoch === 0xffffffff) {
      this.marks.fill(0);
      this.epoch = 1;
    }
  }

  /** Marks `slot`; returns true when it was not yet visited in this search. */
  visit(slot: number): boolean {
    if (this.marks[slot] === this.epoch) return false;
    this.marks[slot] = this.epoch;
    return true;
  }

  get byteLength(): number {
    return this.marks.byteLength;
  }
}
