import { LeastRecentlyUsed } from '../../platform/lru.ts';

/**
 * Pure work kept by its inputs, so a report read again with the same figures does not redo it:
 * the charts drawn (ECharts takes tens of milliseconds a chart) and the list queries built. Exact
 * and never stale: the key is everything the result depends on, so a changed figure is a new key.
 * Bounded: when full, the least recently used result goes.
 */
const everyMemo: LeastRecentlyUsed<string, unknown>[] = [];

export function memoised<A extends unknown[], R>(work: (...args: A) => R, keyOf: (...args: A) => string, size = 200): (...args: A) => R {
  const kept = new LeastRecentlyUsed<string, R>(size);
  everyMemo.push(kept);
  return (...args: A): R => {
    const key = keyOf(...args);
    if (kept.has(key)) return kept.get(key)!;
    const value = work(...args);
    kept.set(key, value);
    // A promise that fails is not kept: the next call tries again.
    if (value instanceof Promise) value.catch(() => kept.peek(key) === value && kept.delete(key));
    return value;
  };
}

/** Forgets every kept result, so the next report does all the work: how a benchmark times a first read. */
export function forgetMemoised(): void {
  for (const kept of everyMemo) kept.clear();
}
