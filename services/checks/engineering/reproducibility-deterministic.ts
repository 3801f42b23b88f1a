import { z } from 'zod';
import { defineCheck, num, pct, rate } from '../define-check.ts';
import { diffRate, ev, notRun, type MeasureContext } from '../measure-context.ts';

export const reproducibilityDeterministic = defineCheck({
  id: 'reproducibility.deterministic',
  title: 'Same result when trained twice',
  category: 'engineering',
  basis: 'host',
  explanation: 'Training twice on the same data must give the same predictions (fixed random seeds), or results cannot be audited or reproduced.',
  thresholds: z.object({ warnAbove: rate.default(0), failAbove: rate.default(0.005) }).strict(),
  measure,
  judge: (v, t) => {
    const d = num(v, 'diffRate');
    const what = `${pct(d)} of predictions differ between two trainings`;
    if (d > t.failAbove) return { status: 'fail', summary: what };
    if (d > t.warnAbove) return { status: 'warn', summary: what };
    return { status: 'pass', summary: what };
  },
});

function measure({ labels, pred, phase }: MeasureContext) {
  const rep = pred?.repeat;
  if (!labels) return notRun('no valid predictions on the holdout');
  if (!rep?.labels || rep.labels.length !== labels.length) return notRun(rep?.labelsProblem ?? phase('train_repeat')?.error ?? 'the second training produced no usable model');
  const d = diffRate(rep.labels, labels);
  return {
    ran: true,
    values: { diffRate: d, rowsCompared: labels.length },
    evidence: [ev('Two trainings', `${Math.round(d * labels.length)} of ${labels.length} holdout predictions differ between two trainings on the same data`)],
  };
}
