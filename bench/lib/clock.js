// One time base shared by every generator process.
//
// process.hrtime and performance.now both read libuv's uv_hrtime, i.e.
// CLOCK_MONOTONIC, which is system-wide on Linux: a timestamp taken in one
// worker process can be subtracted from one taken in another. performance.now()
// is relative to a per-process origin, so it is anchored to hrtime once here;
// afterwards a reading is float arithmetic only (no BigInt allocation on the
// hot path).
const anchorUs = Number(process.hrtime.bigint() / 1000n);
const anchorPerf = performance.now();

/** Microseconds on the machine-wide monotonic clock (float). */
export function monoUs() {
  return anchorUs + (performance.now() - anchorPerf) * 1000;
}

/** Resolves once monoUs() >= atUs (timers are ms-granular; good enough for phases). */
export function sleepUntil(atUs) {
  const ms = (atUs - monoUs()) / 1000;
  return new Promise((resolve) => setTimeout(resolve, ms > 0 ? Math.ceil(ms) : 0));
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
