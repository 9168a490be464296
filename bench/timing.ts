// Shared by the benchmarks that time a synchronous query many times over.

/** Runs `run` once to warm the page and statement caches, then `repeats` times; the median and slowest, in ms. */
export function timeRepeated(run: () => unknown, repeats: number): { p50: number; max: number } {
  run();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    run();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(samples.length / 2)]!, max: samples[samples.length - 1]! };
}
