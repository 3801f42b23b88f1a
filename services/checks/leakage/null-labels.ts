import { z } from 'zod';
import type { Measurement } from '../check-schema.ts';
import { defineCheck, fmt, num } from '../define-check.ts';
import { ev, evaluateFailed, evaluateNotRun, notRun, type MeasureContext } from '../measure-context.ts';
import { mean, std } from '../metrics.ts';
import { findScorer } from '../scorers.ts';

export const leakageNullLabels = defineCheck({
  id: 'leakage.null_labels',
  title: 'Own evaluation scores at chance on shuffled labels',
  category: 'leakage',
  basis: 'sandbox',
  fedBy: 'evaluate',
  explanation:
    "We rerun the candidate's own evaluation after shuffling the target column. With nothing to learn, an honest evaluation scores at chance; a clearly better score means the evaluation leaks.",
  thresholds: z.object({ minExcess: z.number().min(0).max(1).default(0.05), z: z.number().min(0).max(10).default(2) }).strict(),
  measure,
  judge: (v, t) => {
    const excess = num(v, 'nullMean') - num(v, 'chance');
    const bar = Math.max(t.minExcess, t.z * num(v, 'nullSe'));
    const what = `${v.metric} on shuffled labels: ${fmt(num(v, 'nullMean'))} vs chance ${fmt(num(v, 'chance'))}`;
    if (excess > bar) return { status: 'fail', summary: `${what}: the evaluation learns from labels it should not see` };
    if (excess > bar / 2) return { status: 'warn', summary: `${what}: slightly above chance` };
    return { status: 'pass', summary: what };
  },
});

function measure({ train, evaluation: e, phase }: MeasureContext): Measurement {
  if (!e.result) return evaluateNotRun(e);
  const nullRes = train?.evaluateNull ?? null;
  if (!nullRes) {
    // Crashing only on the permuted-label copy must not dodge the check.
    const p = phase('evaluate_null');
    return notRun(p?.error ?? 'evaluate() on shuffled labels returned no result', evaluateFailed(p, null) ? 'evaluate' : null);
  }
  const s = findScorer(nullRes.metric);
  const prevalence = e.prevalence;
  const chance = s && prevalence !== null ? s.chance(prevalence) : null;
  if (chance === null) return notRun(`no chance level is defined for metric "${nullRes.metric}"`);
  const nullMean = mean(nullRes.foldScores);
  const k = Math.max(1, nullRes.foldScores.length);
  // With few folds the spread of the fold scores says little: never assume less noise than a
  // label-blind model has on folds of this size.
  const valRows = e.main?.folds[0]?.validationRows ?? null;
  const floor = valRows && prevalence ? chanceSe(s!.name, valRows * prevalence, valRows * (1 - prevalence)) : 0;
  const nullSe = Math.max(std(nullRes.foldScores), floor) / Math.sqrt(k);
  return {
    ran: true,
    values: { metric: nullRes.metric, nullMean, nullSe, chance, realMean: mean(e.result.foldScores) },
    evidence: [
      ev('Shuffled labels', `fold scores ${nullRes.foldScores.map((x) => x.toFixed(4)).join(', ')}; chance level ${chance.toFixed(4)} at ${(prevalence! * 100).toFixed(1)}% churners`),
    ],
  };
}

/** Standard error of one fold's score for a model that learned nothing (n1 positives, n0 negatives). */
export function chanceSe(metric: string, n1: number, n0: number): number {
  if (n1 < 1 || n0 < 1) return 0;
  const p = n1 / (n1 + n0);
  switch (metric) {
    case 'roc_auc':
      return Math.sqrt((n1 + n0 + 1) / (12 * n1 * n0)); // Mann-Whitney under the null
    case 'balanced_accuracy':
      return 0.5 * Math.sqrt(0.25 / n1 + 0.25 / n0);
    case 'average_precision':
    case 'precision':
      return Math.sqrt((p * (1 - p)) / n1);
    default:
      return 0;
  }
}
