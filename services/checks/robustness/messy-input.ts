import { z } from 'zod';
import type { Measurement } from '../check-schema.ts';
import { defineCheck, num } from '../define-check.ts';
import { ev, notRun, type MeasureContext } from '../measure-context.ts';

export const robustnessMessyInput = defineCheck({
  id: 'robustness.messy_input',
  title: 'Survives messy new data',
  category: 'robustness',
  basis: 'host',
  explanation:
    'Real data arrives with new category values, missing values in new places, extra or reordered columns and inconsistent text. predict() must still return a valid answer for every row.',
  thresholds: z.object({}).strict(),
  measure,
  judge: (v) => {
    const failed = num(v, 'failedVariants');
    const total = num(v, 'variants');
    if (failed > 0) return { status: 'fail', summary: `predict() failed or returned invalid output on ${failed} of ${total} messy inputs` };
    return { status: 'pass', summary: `valid predictions on all ${total} messy inputs` };
  },
});

function measure({ input, pred, labels }: MeasureContext): Measurement {
  const variants = input.manifest.messyVariants;
  if (!pred) return notRun(input.predict?.problem ?? input.train.problem ?? 'no trained model to test');
  if (!labels) return notRun('predict() does not give valid output on the ordinary holdout, so messy inputs were not judged');
  if (variants.length === 0) return notRun('this assessment defines no messy inputs');
  const failures = variants
    .map((v) => [v, pred.variants[v]] as const)
    .filter(([, r]) => !r || !r.labels || r.labelsProblem)
    .map(([v, r]) => ev(v, r?.labelsProblem ?? 'no predictions returned'));
  return {
    ran: true,
    values: { variants: variants.length, failedVariants: failures.length },
    evidence: failures.length ? failures : [ev('All variants', variants.join(', '))],
  };
}
