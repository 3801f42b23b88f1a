import { describe, expect, it } from 'vitest';
import { bestThreshold, brierScore, costByThreshold, effectiveThreshold, quantile, reliability } from '../../../services/checks/decision-metrics.ts';

const costs = { falseNegative: 10, falsePositive: 1 };

describe('decision metrics', () => {
  it('Brier score: 0 for certain right answers, 1 for certain wrong ones', () => {
    expect(brierScore([1, 0], [1, 0])).toBe(0);
    expect(brierScore([1, 0], [0, 1])).toBe(1);
    expect(brierScore([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5])).toBeCloseTo(0.25);
    expect(brierScore([], [])).toBeNull();
  });

  it('calibration error: none when each bin happens as often as predicted, large when over-confident', () => {
    // 10 rows at p=0.3, 3 of them positive; 10 rows at p=0.8, 8 positive.
    const truth = [...Array(10)].map((_, i) => (i < 3 ? 1 : 0)).concat([...Array(10)].map((_, i) => (i < 8 ? 1 : 0)));
    const probs = [...Array(10).fill(0.3), ...Array(10).fill(0.8)];
    const good = reliability(truth, probs)!;
    expect(good.ece).toBeCloseTo(0, 10);
    expect(good.bins.map((b) => b.rows)).toEqual([10, 10]);
    // Same ranking, pushed to the extremes: 0.3 -> 0.01, 0.8 -> 0.99.
    const bad = reliability(
      truth,
      probs.map((p) => (p < 0.5 ? 0.01 : 0.99)),
    )!;
    expect(bad.ece).toBeCloseTo(0.5 * 0.29 + 0.5 * 0.19, 6);
    expect(reliability([1], [1])!.bins[0]).toMatchObject({ lo: 0.9, hi: 1 });
  });

  it('cost at every threshold, the cheapest one, and flagging nobody', () => {
    const truth = [1, 0, 1, 0, 0];
    const probs = [0.9, 0.6, 0.4, 0.2, 0.1];
    const curve = costByThreshold(truth, probs, costs);
    expect(curve.map((p) => p.cost)).toEqual([3, 2, 1, 11, 10, 20]);
    expect(curve.map((p) => p.threshold).slice(0, 5)).toEqual([0.1, 0.2, 0.4, 0.6, 0.9]);
    expect(curve.at(-1)!.threshold).toBeGreaterThan(0.9);
    expect(bestThreshold(curve)).toEqual({ threshold: 0.4, cost: 1 });
  });

  it('ties in probability move together', () => {
    const curve = costByThreshold([1, 0, 0], [0.5, 0.5, 0.2], costs);
    expect(curve).toEqual([
      { threshold: 0.2, cost: 2 },
      { threshold: 0.5, cost: 1 },
      { threshold: 0.5 + 1e-6, cost: 10 },
    ]);
  });

  it('the threshold labels effectively used, and whether they are a threshold at all', () => {
    const probs = [0.05, 0.1, 0.3, 0.45, 0.55, 0.7, 0.95];
    const at05 = effectiveThreshold(
      probs.map((p) => (p >= 0.5 ? 1 : 0)),
      probs,
    )!;
    expect(at05.agreement).toBe(1);
    expect(at05.threshold).toBeCloseTo(0.5);
    const at02 = effectiveThreshold(
      probs.map((p) => (p >= 0.2 ? 1 : 0)),
      probs,
    )!;
    expect(at02.threshold).toBeCloseTo(0.2);
    const everyone = effectiveThreshold(
      probs.map(() => 1),
      probs,
    )!;
    expect(everyone).toEqual({ threshold: 0.05, agreement: 1 });
    const scrambled = effectiveThreshold([1, 0, 1, 0, 1, 0, 1], probs)!;
    expect(scrambled.agreement).toBeLessThan(0.8);
  });

  it('quantiles interpolate between order statistics', () => {
    const xs = [...Array(101).keys()]; // 0..100
    expect(quantile(xs, 0.5)).toBe(50);
    expect(quantile(xs, 0.99)).toBe(99);
    expect(quantile([10, 20], 0.5)).toBe(15);
    expect(quantile([], 0.5)).toBeNull();
  });
});
