import { z } from 'zod';
import type { Measurement } from '../check-schema.ts';
import { defineCheck, num, pct } from '../define-check.ts';
import { ev, evaluateNotRun, loc, notRun, type MeasureContext } from '../measure-context.ts';

export const cvStratified = defineCheck({
  id: 'cv.stratified',
  title: 'Folds keep the class balance',
  category: 'cross-validation',
  basis: 'sandbox',
  fedBy: 'evaluate',
  explanation:
    'With few churners, folds must each hold a fair share of them, or fold scores swing wildly. Stratified folds guarantee this; shuffled folds usually manage; unshuffled folds on ordered data do not.',
  thresholds: z.object({ warnAbove: z.number().min(0).max(10).default(0.3), failAbove: z.number().min(0).max(10).default(0.45) }).strict(),
  measure,
  judge: (v, t) => {
    const dev = num(v, 'maxRelativeDeviation');
    const what = `validation folds' churn rate deviates by up to ${pct(dev)} from the overall rate (${v.splitter})`;
    if (dev > t.failAbove) return { status: 'fail', summary: what };
    if (dev > t.warnAbove) return { status: 'warn', summary: what };
    return { status: 'pass', summary: what };
  },
});

function measure({ evaluation: e }: MeasureContext): Measurement {
  if (!e.result) return evaluateNotRun(e);
  const { main } = e;
  const foldRates = main?.folds.map((f) => f.validationPositiveRate).filter((r): r is number => r !== null) ?? [];
  // Folds are compared with the data the splitter was given (which may already be resampled:
  // that is leakage.resampling's business, not a stratification fault).
  const first = main?.folds[0];
  const splitRate =
    first && first.trainPositiveRate !== null && first.validationPositiveRate !== null && first.trainRows + first.validationRows > 0
      ? (first.trainPositiveRate * first.trainRows + first.validationPositiveRate * first.validationRows) / (first.trainRows + first.validationRows)
      : e.prevalence;
  if (!main || foldRates.length === 0 || !splitRate) return notRun('no folds with class information were seen while evaluate() ran');
  const dev = Math.max(...foldRates.map((r) => Math.abs(r - splitRate) / splitRate));
  return {
    ran: true,
    values: { maxRelativeDeviation: dev, splitter: main.splitter, stratified: main.stratified, overallRate: splitRate },
    evidence: [
      ev('Validation churn rate per fold', `${foldRates.map((r) => (r * 100).toFixed(1) + '%').join(', ')} (all rows given to the splitter: ${(splitRate * 100).toFixed(1)}%)`, loc(main)),
    ],
  };
}
