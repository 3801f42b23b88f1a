import { describe, expect, it } from 'vitest';
import { averagePrecision, balancedAccuracy, confusion, cost, rocAuc, prCurvePoints, seededRandom } from '../../services/checks/metrics.ts';
import { findScorer } from '../../services/checks/scorers.ts';

describe('metrics', () => {
  const truth = [1, 0, 1, 1, 0, 0, 0, 1, 0, 0];
  const pred = [1, 0, 0, 1, 1, 0, 0, 1, 0, 0];
  it('confusion, balanced accuracy and cost', () => {
    const c = confusion(truth, pred);
    expect(c).toEqual({ tp: 3, fn: 1, fp: 1, tn: 5 });
    expect(balancedAccuracy(c)).toBeCloseTo((3 / 4 + 5 / 6) / 2, 10);
    expect(cost(c, { falseNegative: 10, falsePositive: 1 })).toBe(11);
  });
  it('ROC-AUC matches the pairwise definition, ties counting half', () => {
    const score = [0.9, 0.1, 0.4, 0.8, 0.4, 0.2, 0.3, 0.7, 0.05, 0.4];
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < truth.length; i++)
      for (let j = 0; j < truth.length; j++)
        if (truth[i] === 1 && truth[j] === 0) {
          pairs++;
          wins += score[i]! > score[j]! ? 1 : score[i] === score[j] ? 0.5 : 0;
        }
    expect(rocAuc(truth, score)).toBeCloseTo(wins / pairs, 12);
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNull();
  });
  it('average precision as scikit-learn computes it (hand-checked example)', () => {
    // sklearn.metrics.average_precision_score([0,0,1,1], [0.1,0.4,0.35,0.8]) == 0.8333...
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.8333333333, 8);
    expect(prCurvePoints([0, 0], [0.1, 0.2])).toBeNull();
  });
  it('a seeded generator repeats itself', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });
  it('knows the scorer names and the chance levels the null-label check needs', () => {
    expect(findScorer('ROC_AUC')?.chance(0.1)).toBe(0.5);
    expect(findScorer('average_precision')?.chance(0.1)).toBe(0.1);
    expect(findScorer('f1')?.chance(0.1)).toBeCloseTo(0.2 / 1.1, 10);
    expect(findScorer('accuracy')?.imbalanceAware).toBe(false);
    expect(findScorer('made_up')).toBeNull();
  });
});
