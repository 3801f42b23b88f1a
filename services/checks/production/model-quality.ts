import { z } from 'zod';
import { defineCheck, fmt, num } from '../define-check.ts';
import { ev, noHoldoutPredictions, type MeasureContext } from '../measure-context.ts';
import { cost } from '../metrics.ts';

/**
 * The continuous part of the score: how much of the money that calling nobody loses the model
 * saves on hidden data, measured against the simple reference model (x = 0 calls nobody, x = 1
 * saves what the reference saves). Points: `atReference` of the check's weight for reaching the
 * reference, rising linearly from 0 at x = 0; the rest for going beyond it, full at x = `fullAt`.
 *   score = atReference * clamp(x, 0, 1) + (1 - atReference) * clamp((x - 1) / (fullAt - 1), 0, 1)
 */
export function qualityScore(x: number, t: { atReference: number; fullAt: number }): number {
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  return t.atReference * clamp(x) + (1 - t.atReference) * clamp((x - 1) / (t.fullAt - 1));
}

export const modelQuality = defineCheck({
  id: 'quality.business_cost',
  title: 'Money saved on hidden data',
  category: 'production',
  basis: 'host',
  explanation:
    "Every competent model passes the checks; this part ranks them. On hidden customers we add up what the model's decisions cost (missed churners and unneeded calls) and place it between calling nobody and a simple reference model, and beyond: a model that saves more scores higher.",
  thresholds: z
    .object({
      atReference: z.number().min(0).max(1).default(0.5),
      fullAt: z.number().gt(1).max(10).default(1.3),
    })
    .strict(),
  measure,
  judge: (v, t) => {
    const x = num(v, 'savingsVsReference');
    if (!Number.isFinite(x)) return { status: 'error', summary: 'no reference model cost to compare with', score: 0 };
    const score = qualityScore(x, t);
    const what = `saves ${fmt(x * 100, 0)}% of what the reference model saves (cost ${v.cost} vs ${v.referenceCost}; calling nobody ${v.nobodyCost}): ${fmt(score * 100, 0)} of 100 points`;
    if (x >= 1) return { status: 'pass', summary: what, score };
    if (x > 0) return { status: 'warn', summary: what, score };
    return { status: 'fail', summary: what, score };
  },
});

function measure(ctx: MeasureContext) {
  const { confusion, referenceConfusion, nobodyCost: nobody, input } = ctx;
  if (!confusion || nobody === null) return noHoldoutPredictions(ctx);
  const costs = input.manifest.costs;
  const own = cost(confusion, costs);
  const ref = referenceConfusion ? cost(referenceConfusion, costs) : null;
  const x = ref !== null && nobody > ref ? (nobody - own) / (nobody - ref) : null;
  return {
    ran: true,
    values: { cost: own, nobodyCost: nobody, referenceCost: ref, savingsVsReference: x },
    evidence: [
      ev(
        'Savings',
        x === null
          ? `cost ${own}; calling nobody costs ${nobody}; no reference model cost to compare with`
          : `calling nobody costs ${nobody}, the reference model ${ref} (saves ${nobody - ref!}), this model ${own} (saves ${nobody - own})`,
      ),
    ],
  };
}
