import { z } from 'zod';
import type { Measurement } from '../check-schema.ts';
import { defineCheck, fmt, num } from '../define-check.ts';
import { ev, evaluateNotRun, notRun, type MeasureContext } from '../measure-context.ts';
import { mean, seededRandom, std } from '../metrics.ts';

export const cvEstimateCalibrated = defineCheck({
  id: 'cv.estimate_calibrated',
  title: 'Own estimate matches hidden data',
  category: 'cross-validation',
  basis: 'mixed',
  fedBy: 'evaluate',
  explanation:
    "The candidate's cross-validated score is compared with the same metric on hidden data they never saw. An estimate far above the hidden score, beyond what chance explains, means the evaluation was optimistic — usually leakage. This check cannot be faked.",
  thresholds: z.object({ z: z.number().min(0).max(10).default(2), floor: z.number().min(0).max(1).default(0.02) }).strict(),
  measure,
  judge: (v, t) => {
    const optimism = num(v, 'optimism');
    const se = num(v, 'holdoutSe');
    const what = `${v.metric}: own estimate ${fmt(num(v, 'cvMean'))} vs hidden holdout ${fmt(num(v, 'holdout'))} (±${fmt(se)})`;
    if (optimism > t.z * se + t.floor) return { status: 'fail', summary: `${what}: optimistic beyond chance` };
    if (optimism > se + t.floor) return { status: 'warn', summary: `${what}: somewhat optimistic` };
    return { status: 'pass', summary: what };
  },
});

/** Its values `holdout` and `holdoutSe` are also the report's evaluate summary (measure.ts). */
function measure({ evaluation: e, input, labels, probs }: MeasureContext): Measurement {
  const { result, scorer } = e;
  if (!result) return evaluateNotRun(e);
  if (!scorer) return notRun(`metric "${result.metric}" is not one we can recompute on the holdout`);
  if (!labels) return notRun('no valid predictions on the holdout');
  const { truth } = input;
  const scores = scorer.needsScores ? probs : null;
  const holdout = scorer.compute(truth, labels, scores);
  const se = bootstrapSe(truth, labels, scores, scorer.compute, input.seed);
  const cvMean = mean(result.foldScores);
  if (holdout === null || !Number.isFinite(cvMean)) return notRun('the metric is undefined on the holdout predictions');
  const cvStd = std(result.foldScores);
  return {
    ran: true,
    values: { metric: scorer.name, cvMean, cvStd, holdout, holdoutSe: se, optimism: cvMean - holdout, usedProbabilities: scores !== null },
    evidence: [
      ev('Own estimate', `${scorer.name} = ${cvMean.toFixed(4)} ± ${cvStd.toFixed(4)} over ${result.foldScores.length} folds`),
      ev(
        'Hidden holdout',
        `${scorer.name} = ${holdout.toFixed(4)} (bootstrap standard error ${se.toFixed(4)}, ${truth.length} rows)` +
          (scorer.needsScores && !scores ? '; computed from labels because predict_proba is missing' : ''),
      ),
    ],
  };
}

/** Standard error of the metric on the holdout, from `rounds` bootstrap resamples. */
function bootstrapSe(
  truth: number[],
  labels: number[],
  scores: number[] | null,
  compute: (t: number[], l: number[], s: number[] | null) => number | null,
  seed: number,
  rounds = 200,
): number {
  const rand = seededRandom(seed);
  const n = truth.length;
  const values: number[] = [];
  const t = new Array<number>(n);
  const l = new Array<number>(n);
  const s = scores ? new Array<number>(n) : null;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) {
      const j = Math.floor(rand() * n);
      t[i] = truth[j]!;
      l[i] = labels[j]!;
      if (s) s[i] = scores![j]!;
    }
    const v = compute(t, l, s);
    if (v !== null && Number.isFinite(v)) values.push(v);
  }
  return std(values);
}
