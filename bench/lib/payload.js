// Benchmark payloads carry space-separated decimal fields ("<seq> <tUs>" or "<sid> <seq> <tUs>")
// that receivers parse in place, without making a string per line.

/** Parses up to out.length leading decimal fields of b[s..e) into out; returns how many it read. */
export function readDecimals(b, s, e, out) {
  let p = s;
  let n = 0;
  while (n < out.length && p < e) {
    let v = 0;
    let c;
    while (p < e && (c = b[p]) !== 0x20) {
      v = v * 10 + c - 48;
      p++;
    }
    out[n++] = v;
    p++;
  }
  return n;
}
