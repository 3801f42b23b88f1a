/** Small, dependency-free statistics for benchmark samples. */

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  /** Interquartile range (p75 - p25), linear interpolation. */
  iqr: number;
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function summarize(xs: readonly number[]): Summary {
  return {
    n: xs.length,
    median: quantile(xs, 0.5),
    min: xs.length ? Math.min(...xs) : Number.NaN,
    max: xs.length ? Math.max(...xs) : Number.NaN,
    iqr: quantile(xs, 0.75) - quantile(xs, 0.25),
  };
}

export const median = (xs: readonly number[]) => quantile(xs, 0.5);

/** "6.9 s (6.5–7.4)" style: median and range, in the unit given. */
export function fmtRange(s: Summary, digits = 2, unit = ''): string {
  if (!s.n) return 'n/a';
  const f = (x: number) => x.toFixed(digits);
  return s.n === 1 ? `${f(s.median)}${unit}` : `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})`;
}

export const sec = (ms: number, digits = 2) => `${(ms / 1000).toFixed(digits)} s`;
export const mb1 = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
export const mib = (bytes: number | null | undefined) => (bytes === null || bytes === undefined ? 'n/a' : `${Math.round(bytes / 1048576)} MiB`);
