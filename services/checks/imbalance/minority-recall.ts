import { z } from 'zod';
import type { Measurement } from '../check-schema.ts';
import { defineCheck, num, pct, rate } from '../define-check.ts';
import { ev, noHoldoutPredictions, type MeasureContext } from '../measure-context.ts';
import { recall } from '../metrics.ts';

export const imbalanceMinorityRecall = defineCheck({
  id: 'imbalance.minority_recall',
  title: 'Finds the churners',
  category: 'imbalance',
  basis: 'host',
  explanation: 'The share of real churners the model flags at its own decision threshold. Missing a churner costs far more than an unneeded call.',
  thresholds: z.object({ pass: rate.default(0.6), warn: rate.default(0.4) }).strict(),
  measure,
  judge: (v, t) => {
    const r = num(v, 'recall');
    const what = `flags ${pct(r)} of churners (${v.truePositives} of ${v.positives})`;
    if (r >= t.pass) return { status: 'pass', summary: what };
    if (r >= t.warn) return { status: 'warn', summary: what };
    return { status: 'fail', summary: `${what}: most churners are missed` };
  },
});

function measure(ctx: MeasureContext): Measurement {
  const c = ctx.confusion;
  if (!c) return noHoldoutPredictions(ctx);
  const positives = c.tp + c.fn;
  return {
    ran: true,
    values: { recall: recall(c), positives, truePositives: c.tp, predictedPositives: c.tp + c.fp },
    evidence: [ev('Churners found', `${c.tp} of ${positives} churners flagged; ${c.tp + c.fp} customers flagged in all`)],
  };
}
