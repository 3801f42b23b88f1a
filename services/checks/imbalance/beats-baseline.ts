import { z } from 'zod';
import type { Measurement } from '../check-schema.ts';
import { defineCheck, fmt, num, pct, rate } from '../define-check.ts';
import { ev, noHoldoutPredictions, type MeasureContext } from '../measure-context.ts';
import { balancedAccuracy, cost } from '../metrics.ts';

export const imbalanceBeatsBaseline = defineCheck({
  id: 'imbalance.beats_baseline',
  title: 'Beats doing nothing and a simple model',
  category: 'imbalance',
  basis: 'host',
  explanation:
    'On hidden data, the model must save money compared with calling nobody (the majority-class baseline) and do at least as well as a simple reference model, on business cost and on balanced accuracy.',
  thresholds: z
    .object({
      maxCostRatioVsMajority: z.number().min(0).max(2).default(0.85),
      maxCostRatioVsReference: z.number().min(0).max(2).default(1.0),
      warnCostRatioVsReference: z.number().min(0).max(2).default(1.1),
      minBalancedAccuracy: rate.default(0.55),
    })
    .strict(),
  measure,
  judge: (v, t) => {
    const vsMaj = num(v, 'costRatioVsMajority');
    const vsRef = num(v, 'costRatioVsReference');
    const ba = num(v, 'balancedAccuracy');
    const what = `cost ${pct(vsMaj)} of calling nobody${Number.isFinite(vsRef) ? `, ${pct(vsRef)} of the reference model's` : ''}; balanced accuracy ${fmt(ba)}`;
    if (!(vsMaj <= t.maxCostRatioVsMajority) || !(ba >= t.minBalancedAccuracy)) return { status: 'fail', summary: `${what}: not clearly better than doing nothing` };
    if (Number.isFinite(vsRef) && vsRef > t.warnCostRatioVsReference) return { status: 'fail', summary: `${what}: worse than a simple reference model` };
    if (Number.isFinite(vsRef) && vsRef > t.maxCostRatioVsReference) return { status: 'warn', summary: `${what}: about as good as a simple reference model` };
    return { status: 'pass', summary: what };
  },
});

function measure(ctx: MeasureContext): Measurement {
  const { confusion: c, referenceConfusion: ref, nobodyCost: majority } = ctx;
  if (!c || majority === null) return noHoldoutPredictions(ctx);
  const costs = ctx.input.manifest.costs;
  const own = cost(c, costs);
  const refCost = ref ? cost(ref, costs) : null;
  return {
    ran: true,
    values: {
      cost: own,
      costMajority: majority,
      costReference: refCost,
      costRatioVsMajority: majority ? own / majority : null,
      costRatioVsReference: refCost ? own / refCost : null,
      balancedAccuracy: balancedAccuracy(c),
      balancedAccuracyReference: ref ? balancedAccuracy(ref) : null,
    },
    evidence: [
      ev(
        'Business cost on the holdout',
        `${own} (missed churner = ${costs.falseNegative}, unneeded call = ${costs.falsePositive}); calling nobody costs ${majority}` +
          (refCost !== null ? `; the reference model costs ${refCost}` : ''),
      ),
      ev('Confusion matrix', `caught ${c.tp}, missed ${c.fn}, unneeded calls ${c.fp}, correctly left alone ${c.tn}`),
    ],
  };
}
