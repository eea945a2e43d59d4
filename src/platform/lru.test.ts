import { describe, expect, it } from 'vitest';
import { LeastRecentlyUsed } from './lru.ts';

describe('a bounded least-recently-used cache', () => {
  it('drops the least recently kept value first when full', () => {
    const kept = new LeastRecentlyUsed<string, number>(2);
    kept.set('a', 1);
    kept.set('b', 2);
    kept.set('c', 3);
    expect(kept.has('a')).toBe(false);
    expect(kept.get('b')).toBe(2);
    expect(kept.get('c')).toBe(3);
  });

  it('counts a hit as a use, so the value read is kept and the other goes', () => {
    const kept = new LeastRecentlyUsed<string, number>(2);
    kept.set('a', 1);
    kept.set('b', 2);
    expect(kept.get('a')).toBe(1);
    kept.set('c', 3);
    expect(kept.has('b')).toBe(false);
    expect(kept.get('a')).toBe(1);
    expect(kept.get('c')).toBe(3);
  });

  it('does not count a look without use (has, peek) as a use', () => {
    const kept = new LeastRecentlyUsed<string, number>(2);
    kept.set('a', 1);
    kept.set('b', 2);
    expect(kept.has('a')).toBe(true);
    expect(kept.peek('a')).toBe(1);
    kept.set('c', 3);
    expect(kept.has('a')).toBe(false);
    expect(kept.peek('b')).toBe(2);
  });

  it('never holds more than its bound, and replacing a value drops nothing else', () => {
    const kept = new LeastRecentlyUsed<number, string>(3);
    for (let key = 0; key < 10; key++) {
      kept.set(key, String(key));
      expect(kept.size).toBeLessThanOrEqual(3);
    }
    expect([7, 8, 9].map((key) => kept.get(key))).toEqual(['7', '8', '9']);
    kept.set(8, 'eight');
    expect(kept.size).toBe(3);
    expect([7, 8, 9].map((key) => kept.get(key))).toEqual(['7', 'eight', '9']);
  });

  it('forgets one key or everything', () => {
    const kept = new LeastRecentlyUsed<string, number>(2);
    kept.set('a', 1);
    kept.set('b', 2);
    expect(kept.delete('a')).toBe(true);
    expect(kept.delete('a')).toBe(false);
    expect(kept.get('a')).toBeUndefined();
    kept.clear();
    expect(kept.size).toBe(0);
    expect(kept.get('b')).toBeUndefined();
  });
});
