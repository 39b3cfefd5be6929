// Mergeable latency histogram (log-linear buckets, ~1.6% relative error) and a
// reason counter. Workers record into these and ship them to the coordinator
// as JSON, which merges and reports percentiles.

// Values are integer microseconds. Below 128 every value has its own bucket;
// above, each power of two is split into 64 sub-buckets.
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
const NBUCKETS = (31 - SUB_BITS) * SUB + 2 * SUB; // covers 0 .. 2^31-1 us (~35 min)
const MAXV = 0x7fffffff;

function bucketOf(v) {
  if (v < 2 * SUB) return v;
  const e = 31 - Math.clz32(v);
  return (e - SUB_BITS) * SUB + (v >>> (e - SUB_BITS));
}

function bucketMid(i) {
  if (i < 2 * SUB) return i;
  const q = (i >>> SUB_BITS) - 1;
  const m = i - q * SUB;
  return ((m << q) + (((m + 1) << q) - 1)) / 2;
}

export class Histogram {
  constructor() {
    this.counts = new Float64Array(NBUCKETS);
    this.n = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = 0;
  }

  record(us) {
    let v = us > 0 ? Math.floor(us) : 0;
    if (v > MAXV) v = MAXV;
    this.counts[bucketOf(v)]++;
    this.n++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** p in [0, 100]; returns microseconds. */
  percentile(p) {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let acc = 0;
    for (let i = 0; i < NBUCKETS; i++) {
      acc += this.counts[i];
      if (acc >= rank) return Math.min(this.max, Math.max(this.min, bucketMid(i)));
    }
    return this.max;
  }

  /** Summary in milliseconds, rounded to microseconds. */
  summaryMs() {
    const ms = (us) => Math.round(us) / 1000;
    return {
      n: this.n,
      min: this.n ? ms(this.min) : 0,
      p50: ms(this.percentile(50)),
      p90: ms(this.percentile(90)),
      p99: ms(this.percentile(99)),
      p999: ms(this.percentile(99.9)),
      max: ms(this.max),
      mean: this.n ? ms(this.sum / this.n) : 0,
    };
  }

  toJSON() {
    const b = [];
    for (let i = 0; i < NBUCKETS; i++) if (this.counts[i] !== 0) b.push(i, this.counts[i]);
    return { n: this.n, sum: this.sum, min: this.min === Infinity ? null : this.min, max: this.max, b };
  }

  merge(j) {
    if (!j || j.n === 0) return this;
    for (let k = 0; k < j.b.length; k += 2) this.counts[j.b[k]] += j.b[k + 1];
    this.n += j.n;
    this.sum += j.sum;
    if (j.min !== null && j.min < this.min) this.min = j.min;
    if (j.max > this.max) this.max = j.max;
    return this;
  }
}

/** Counts of failure/disconnect reasons; nick and address noise is folded so that equal causes group. */
export class Reasons {
  constructor() {
    this.map = Object.create(null);
    this.total = 0;
  }

  add(reason, n = 1) {
    const key = normalizeReason(reason);
    this.map[key] = (this.map[key] || 0) + n;
    this.total += n;
  }

  merge(obj) {
    for (const [k, v] of Object.entries(obj || {})) {
      this.map[k] = (this.map[k] || 0) + v;
      this.total += v;
    }
    return this;
  }

  toJSON() {
    return { ...this.map };
  }
}

export function normalizeReason(r) {
  return String(r)
    .replace(/\bb\d+(_\d+)?\b/g, 'bN')
    .replace(/\b127\.\d+\.\d+\.\d+\b/g, '127.x.x.x')
    .slice(0, 200);
}

/** Sum of numeric fields across an array of objects. */
export function sumField(arr, key) {
  let s = 0;
  for (const o of arr) s += o[key] || 0;
  return s;
}
