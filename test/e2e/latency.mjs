// latency.mjs — constant-memory bookkeeping for the load test's viewers: a
// latency histogram and a "seen once" set of event seqs. A long run
// delivers millions of events to each viewer; kept as JS arrays and Sets
// they grew the test's heap by hundreds of MB, and the collector's
// latency was then measured through the test's own garbage-collection
// pauses. Typed arrays hold the same facts without giving the GC work.

/** Latencies in ms, at 0.1 ms resolution up to 60 s (beyond counts as 60 s). */
export class LatencyHistogram {
  static STEP_MS = 0.1;
  static BUCKETS = 600_000;

  constructor() {
    this.buckets = new Uint32Array(LatencyHistogram.BUCKETS + 1);
    this.count = 0;
    this.max = -Infinity;
  }

  add(ms) {
    const i = Math.max(0, Math.min(LatencyHistogram.BUCKETS, Math.ceil(ms / LatencyHistogram.STEP_MS)));
    this.buckets[i]++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** Fold another histogram (or its summary() from a worker) into this one. */
  merge(other) {
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i] += other.buckets[i];
    this.count += other.count;
    this.max = Math.max(this.max, other.max);
  }

  /** The smallest bucket bound at or under which a share p of the samples lie (ms); NaN when empty. */
  percentile(p) {
    if (this.count === 0) return NaN;
    const rank = Math.min(this.count, Math.floor(this.count * p) + 1);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i];
      if (seen >= rank) return Math.min(this.max, i * LatencyHistogram.STEP_MS);
    }
    return this.max;
  }

  /** What crosses a worker boundary: the counts, not the object. */
  summary() {
    return { buckets: this.buckets, count: this.count, max: this.max };
  }

  static from(summary) {
    const h = new LatencyHistogram();
    h.merge(summary);
    return h;
  }
}

/** Non-negative integer seqs seen so far, one bit each, growing as needed. */
export class SeqSet {
  constructor() {
    this.bits = new Uint8Array(1 << 16);
    this.size = 0;
  }

  /** Adds seq; false if it was already there. */
  add(seq) {
    const byte = seq >>> 3;
    if (byte >= this.bits.length) {
      let n = this.bits.length;
      while (n <= byte) n *= 2;
      const grown = new Uint8Array(n);
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (seq & 7);
    if (this.bits[byte] & mask) return false;
    this.bits[byte] |= mask;
    this.size++;
    return true;
  }
}
