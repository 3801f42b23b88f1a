import { describe, expect, it } from 'vitest';
import { ByteBoundedCache } from '../../services/api/byte-bounded-cache.ts';

const buf = (n: number, fill = 1) => Buffer.alloc(n, fill);

describe('ByteBoundedCache', () => {
  it('evicts the least recently used entries once the byte bound is passed', () => {
    const c = new ByteBoundedCache(100);
    c.set('a', buf(40));
    c.set('b', buf(40));
    expect(c.get('a')).toBeDefined(); // a is now the most recently used
    c.set('c', buf(40)); // 120 > 100: b goes, not a
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')?.length).toBe(40);
    expect(c.get('c')?.length).toBe(40);
    expect(c.size).toEqual({ entries: 2, bytes: 80 });
  });

  it('never holds more than its bound, and refuses a value larger than the bound', () => {
    const c = new ByteBoundedCache(1000);
    for (let i = 0; i < 200; i++) {
      c.set(`k${i}`, buf(1 + ((i * 37) % 300)));
      expect(c.size.bytes).toBeLessThanOrEqual(1000);
    }
    c.set('huge', buf(1001));
    expect(c.get('huge')).toBeUndefined();
    expect(c.size.bytes).toBeLessThanOrEqual(1000);
  });

  it('replacing a key accounts its bytes once; a zero bound caches nothing', () => {
    const c = new ByteBoundedCache(100);
    c.set('a', buf(30));
    c.set('a', buf(50, 2));
    expect(c.size).toEqual({ entries: 1, bytes: 50 });
    expect(c.get('a')![0]).toBe(2);
    const off = new ByteBoundedCache(0);
    off.set('a', buf(1));
    expect(off.get('a')).toBeUndefined();
  });
});
