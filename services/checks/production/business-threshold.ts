import { z } from 'zod';
import { defineCheck, fmt, num, pct } from '../define-check.ts';
import { bestThreshold, costByThreshold, effectiveThreshold } from '../decision-metrics.ts';
import { ev, noHoldoutPredictions, type MeasureContext } from '../measure-context.ts';
import { noProbabilities } from './no-probabilities.ts';
import { cost } from '../metrics.ts';

export const businessThreshold = defineCheck({
  id: 'business.threshold',
  title: 'Decisions tuned to what mistakes cost',
  category: 'production',
  basis: 'host',
  fedBy: 'predict_proba',
  explanation:
    "A model gives each customer a churn probability; someone has to choose from which probability on a customer gets a call. Missing a churner costs far more than an unneeded call, so the right cut-off is well below 50%. On hidden data we compare the cost of the candidate's own decisions with the cheapest cut-off their probabilities allow: the share of the possible savings they gave away (regret).",
  thresholds: z
    .object({
      warnRegret: z.number().min(0).max(1).default(0.15),
      failRegret: z.number().min(0).max(1).default(0.35),
    })
    .strict(),
  whenMissingDefault: 'warn',
  measure,
  judge: (v, t) => {
    const regret = num(v, 'regret');
    const what = `cost ${v.ownCost} at their decisions vs ${v.bestCost} at the best cut-off (p ≥ ${fmt(num(v, 'bestThreshold'), 3)}); effective cut-off ${fmt(num(v, 'effectiveThreshold'), 3)}; ${pct(regret)} of the possible savings given away`;
    if (regret > t.failRegret) return { status: 'fail', summary: `${what}: the decision ignores the cost of a missed churner` };
    if (regret > t.warnRegret) return { status: 'warn', summary: `${what}: the cut-off is not tuned to the costs` };
    return { status: 'pass', summary: what };
  },
});

function measure(ctx: MeasureContext) {
  const { labels, probs, confusion, nobodyCost: nobody, input } = ctx;
  if (!labels || !confusion || nobody === null) return noHoldoutPredictions(ctx);
  if (!probs) return noProbabilities(ctx, 'the decision threshold');
  const costs = input.manifest.costs;
  const curve = costByThreshold(input.truth, probs, costs);
  const best = bestThreshold(curve)!;
  const own = cost(confusion, costs);
  const eff = effectiveThreshold(labels, probs)!;
  const room = nobody - best.cost;
  const regret = room > 0 ? Math.max(0, own - best.cost) / room : own > best.cost ? 1 : 0;
  return {
    ran: true,
    values: {
      ownCost: own,
      bestCost: best.cost,
      bestThreshold: best.threshold,
      nobodyCost: nobody,
      regret,
      effectiveThreshold: eff.threshold,
      labelsMatchThreshold: eff.agreement,
      costRatio: costs.falseNegative / costs.falsePositive,
    },
    evidence: [
      ev(
        'Their decisions',
        `cost ${own} on the hidden holdout; their yes/no answers match "call when p ≥ ${eff.threshold.toFixed(3)}" for ${(eff.agreement * 100).toFixed(1)}% of customers`,
      ),
      ev(
        'Best cut-off on their probabilities',
        `call when p ≥ ${best.threshold.toFixed(3)}: cost ${best.cost}; calling nobody costs ${nobody}; a missed churner costs ${costs.falseNegative}, a call ${costs.falsePositive}, so calibrated probabilities would be cut at ${(costs.falsePositive / (costs.falsePositive + costs.falseNegative)).toFixed(3)}`,
      ),
    ],
    series: { costByThreshold: downsample(curve.map((p) => ({ x: Math.min(1, p.threshold), y: p.cost }))) },
  };
}

/** At most `max` points of a curve, evenly spaced in x, keeping the cheapest point. */
function downsample(points: { x: number; y: number }[], max = 101): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let b = 0; b < max; b++) {
    const x = b / (max - 1);
    // The cost at a cut-off x is that of the lowest listed threshold at or above it.
    const p = points.find((q) => q.x >= x) ?? points.at(-1);
    if (p) out.push({ x, y: p.y });
  }
  return out;
}
