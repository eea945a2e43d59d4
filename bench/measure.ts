/** Timing, memory and statistics helpers shared by the benchmarks. */
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function ratio(value: number, baseline: number): number {
  return baseline > 0 ? value / baseline : Number.NaN;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

const MB = 1024 * 1024;

/**
 * A full garbage collection, so a run's memory baseline is not left over from the last one.
 * `npm run bench` runs node without --expose-gc, so the flag is turned on at run time.
 */
let collect: (() => void) | undefined;
export function collectGarbage(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
  collect();
}

export type MemoryPeak = {
  /** RSS just before the run, after a full GC (MB). */
  baselineRssMb: number;
  /** Highest RSS sampled every 50 ms during the run (MB). */
  peakRssMb: number;
  /** peak − baseline (MB): what the run itself needed. */
  peakIncreaseMb: number;
  /** Highest V8 heap used sampled during the run (MB). */
  peakHeapUsedMb: number;
  /** process.resourceUsage().maxRSS after the run (MB): the process's high-water mark so far. */
  processMaxRssMb: number;
};

/**
 * The kernel's record of the process's peak RSS (Linux), reset to the current RSS: what a 50 ms
 * sampler misses while the event loop is busy — the embedded database's WebAssembly runs on it,
 * so no timer fires during a long statement. Null where /proc is not there.
 */
const kernelPeakRss = {
  reset(): boolean {
    try {
      fs.writeFileSync('/proc/self/clear_refs', '5');
      return true;
    } catch {
      return false;
    }
  },
  read(): number {
    const found = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return found ? Number(found[1]) * 1024 : 0;
  },
};

/** Runs `work`, sampling memory every 50 ms (and the kernel's peak where it keeps one); returns its result, wall time and memory peak. */
export async function measure<T>(work: () => Promise<T>): Promise<{ result: T; ms: number; memory: MemoryPeak }> {
  collectGarbage();
  const baseline = process.memoryUsage().rss;
  const kernelPeak = kernelPeakRss.reset();
  let peak = baseline;
  let peakHeap = process.memoryUsage().heapUsed;
  const sample = () => {
    const usage = process.memoryUsage();
    if (usage.rss > peak) peak = usage.rss;
    if (usage.heapUsed > peakHeap) peakHeap = usage.heapUsed;
  };
  const timer = setInterval(sample, 50);
  const started = performance.now();
  try {
    const result = await work();
    const ms = performance.now() - started;
    sample();
    if (kernelPeak) peak = Math.max(peak, kernelPeakRss.read());
    return {
      result,
      ms,
      memory: {
        baselineRssMb: round(baseline / MB, 1),
        peakRssMb: round(peak / MB, 1),
        peakIncreaseMb: round((peak - baseline) / MB, 1),
        peakHeapUsedMb: round(peakHeap / MB, 1),
        processMaxRssMb: round((process.resourceUsage().maxRSS * 1024) / MB, 1),
      },
    };
  } finally {
    clearInterval(timer);
  }
}

/** Latencies (ms) of `iterations` calls after `warmups` unmeasured ones. */
export async function latencies(work: () => Promise<unknown>, options: { warmups: number; iterations: number }): Promise<number[]> {
  for (let i = 0; i < options.warmups; i++) await work();
  const times: number[] = [];
  for (let i = 0; i < options.iterations; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return times;
}

export function summarise(times: readonly number[]) {
  return { medianMs: round(median(times), 3), p95Ms: round(percentile(times, 95), 3), minMs: round(Math.min(...times), 3), n: times.length };
}
