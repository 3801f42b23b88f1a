import { z } from 'zod';
import type { Measurement } from '../check-schema.ts';
import { defineCheck } from '../define-check.ts';
import { ev, evaluateNotRun, type MeasureContext } from '../measure-context.ts';

export const imbalanceMetric = defineCheck({
  id: 'imbalance.metric',
  title: 'A metric that copes with imbalance',
  category: 'imbalance',
  basis: 'sandbox',
  fedBy: 'evaluate',
  explanation:
    'When only about one customer in ten churns, predicting "nobody churns" is 90% accurate and useless. Accuracy alone hides this; metrics such as PR-AUC, ROC-AUC, F1 or balanced accuracy do not.',
  thresholds: z.object({}).strict(),
  measure,
  judge: (v) => {
    if (v.imbalanceAware === true) return { status: 'pass', summary: `evaluated with ${v.metric}` };
    if (v.metric === 'accuracy') return { status: 'fail', summary: 'evaluated with plain accuracy, which rewards ignoring churners' };
    return { status: 'warn', summary: `evaluated with ${v.metric}, which does not reflect both kinds of error` };
  },
});

function measure({ evaluation: e }: MeasureContext): Measurement {
  const { result, scorer } = e;
  if (!result) return evaluateNotRun(e);
  return {
    ran: true,
    values: { metric: result.metric, imbalanceAware: scorer?.imbalanceAware ?? false, known: scorer !== null },
    evidence: [ev('Metric', `evaluate() reported "${result.metric}"${scorer ? '' : ' (not a scikit-learn scorer name we know)'}`)],
  };
}
