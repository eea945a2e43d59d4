/**
 * A bounded least-recently-used cache: what a process keeps of work it must not redo (a chart
 * drawn, a tool edition parsed) without growing for ever. Written once here because more than
 * one place keeps such results (reports/memo.ts, tools/editions.ts) and each had its own copy.
 *
 * A Map keeps its keys in insertion order, so a hit is moved to the end (most recently used
 * last) and, when full, the first key is the one to drop.
 */
export class LeastRecentlyUsed<K, V> {
  readonly #kept = new Map<K, V>();
  readonly #size: number;

  /** Keeps at most `size` values. */
  constructor(size: number) {
    this.#size = size;
  }

  /** Whether the key is kept; does not count as a use. */
  has(key: K): boolean {
    return this.#kept.has(key);
  }

  /** The value kept under the key, or undefined; does not count as a use. */
  peek(key: K): V | undefined {
    return this.#kept.get(key);
  }

  /** The value kept under the key, now the most recently used, or undefined. */
  get(key: K): V | undefined {
    if (!this.#kept.has(key)) return undefined;
    const value = this.#kept.get(key)!;
    this.#kept.delete(key);
    this.#kept.set(key, value);
    return value;
  }

  /** Keeps the value as the most recently used, dropping the least recently used when full. */
  set(key: K, value: V): void {
    if (this.#kept.has(key)) this.#kept.delete(key);
    else if (this.#kept.size >= this.#size) this.#kept.delete(this.#kept.keys().next().value!);
    this.#kept.set(key, value);
  }

  /** Drops the key; true when it was kept. */
  delete(key: K): boolean {
    return this.#kept.delete(key);
  }

  /** Drops everything kept. */
  clear(): void {
    this.#kept.clear();
  }

  /** How many values are kept. */
  get size(): number {
    return this.#kept.size;
  }
}
