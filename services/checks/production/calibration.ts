import { z } from 'zod';
import { defineCheck, fmt, num } from '../define-check.ts';
import { brierScore, reliability } from '../decision-metrics.ts';
import { ev, noHoldoutPredictions, type MeasureContext } from '../measure-context.ts';
import { noProbabilities } from './no-probabilities.ts';

export const calibration = defineCheck({
  id: 'calibration',
  title: 'Probabilities mean what they say',
  category: 'production',
  basis: 'host',
  fedBy: 'predict_proba',
  explanation:
    'When the model says "30% likely to churn", about 30 of 100 such customers should churn. Teams use these numbers to plan budgets and choose whom to call; over-confident or inflated probabilities mislead them even when the ranking is good. We group hidden customers by predicted probability and compare with how many actually churned (expected calibration error), next to the simple reference model.',
  thresholds: z
    .object({
      warnEce: z.number().min(0).max(1).default(0.08),
      failEce: z.number().min(0).max(1).default(0.3),
    })
    .strict(),
  whenMissingDefault: 'warn',
  measure,
  judge: (v, t) => {
    const ece = num(v, 'ece');
    const ref = num(v, 'referenceEce');
    const what = `calibration error ${fmt(ece)}${Number.isFinite(ref) ? ` (reference model ${fmt(ref)})` : ''}, Brier score ${fmt(num(v, 'brier'))}`;
    if (ece > t.failEce) return { status: 'fail', summary: `${what}: the probabilities are far from the observed churn rates` };
    if (ece > t.warnEce) return { status: 'warn', summary: `${what}: the probabilities are off from the observed churn rates` };
    return { status: 'pass', summary: what };
  },
});

function measure(ctx: MeasureContext) {
  const { labels, probs, input } = ctx;
  if (!labels) return noHoldoutPredictions(ctx);
  if (!probs) return noProbabilities(ctx, 'calibration');
  const rel = reliability(input.truth, probs)!;
  const refProbs = input.reference?.probabilities?.length === input.truth.length ? input.reference.probabilities : null;
  const ref = refProbs ? reliability(input.truth, refProbs) : null;
  const observed = input.truth.reduce((s, y) => s + y, 0) / input.truth.length;
  const meanP = probs.reduce((s, p) => s + p, 0) / probs.length;
  return {
    ran: true,
    values: {
      ece: rel.ece,
      brier: brierScore(input.truth, probs),
      referenceEce: ref?.ece ?? null,
      referenceBrier: refProbs ? brierScore(input.truth, refProbs) : null,
      meanPredicted: meanP,
      observedRate: observed,
    },
    evidence: [
      ev('Average', `mean predicted churn probability ${(meanP * 100).toFixed(1)}% vs ${(observed * 100).toFixed(1)}% who churned`),
      ev(
        'By probability',
        rel.bins
          .map((b) => `${(b.lo * 100).toFixed(0)}-${(b.hi * 100).toFixed(0)}%: predicted ${(b.meanPredicted * 100).toFixed(0)}%, churned ${(b.observedRate * 100).toFixed(0)}% (${b.rows})`)
          .join('; '),
      ),
    ],
    series: { reliability: rel.bins.map((b) => ({ x: b.meanPredicted, y: b.observedRate })) },
  };
}
