import { z } from 'zod';
import type { Measurement } from '../check-schema.ts';
import { defineCheck, num } from '../define-check.ts';
import { ev, evaluateNotRun, foldCount, loc, type MeasureContext } from '../measure-context.ts';

export const cvUsed = defineCheck({
  id: 'cv.used',
  title: 'Cross-validation, not a single split',
  category: 'cross-validation',
  basis: 'sandbox',
  fedBy: 'evaluate',
  explanation: 'One train/test split gives a noisy estimate that depends on luck. k-fold cross-validation (at least 5 folds) or repeated CV gives a dependable one.',
  thresholds: z.object({ minFolds: z.number().int().min(2).max(50).default(5) }).strict(),
  measure,
  judge: (v, t) => {
    const k = num(v, 'folds');
    if (v.repeated === true && k >= 2) return { status: 'pass', summary: `repeated ${k}-fold cross-validation` };
    if (k >= t.minFolds) return { status: 'pass', summary: `${k}-fold cross-validation (${v.splitter})` };
    if (k >= 3) return { status: 'warn', summary: `only ${k} folds (${v.splitter}); ${t.minFolds} or more expected` };
    if (v.splitter === null && num(v, 'foldScores') >= t.minFolds) return { status: 'warn', summary: `${num(v, 'foldScores')} fold scores returned but no splitter was seen at run time` };
    return { status: 'fail', summary: k >= 1 ? `a single split (${v.splitter}) instead of cross-validation` : 'no cross-validation was seen' };
  },
});

function measure({ evaluation: e }: MeasureContext): Measurement {
  if (!e.result) return evaluateNotRun(e);
  const { main } = e;
  return {
    ran: true,
    values: { folds: main ? foldCount(main) : 0, repeated: main?.repeated ?? false, splitter: main?.splitter ?? null, foldScores: e.result.foldScores.length },
    evidence: [
      ...(main
        ? [ev(`${main.splitter}`, `${JSON.stringify(main.params)}; ${main.folds.length} train/validation splits`, loc(main))]
        : [ev('No splitter', 'no scikit-learn splitter or train_test_split call was seen while evaluate() ran')]),
      ev('Fold scores', e.result.foldScores.map((s) => s.toFixed(4)).join(', ')),
    ],
  };
}
