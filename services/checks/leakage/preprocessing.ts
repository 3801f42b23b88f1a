import { z } from 'zod';
import type { Measurement } from '../check-schema.ts';
import { defineCheck, num } from '../define-check.ts';
import type { MeasureContext } from '../measure-context.ts';
import { leakEvidence, lintEvidence, lintOf, untraced } from './trace-and-lint.ts';

export const leakagePreprocessing = defineCheck({
  id: 'leakage.preprocessing',
  title: 'Preprocessing fitted on training rows only',
  category: 'leakage',
  basis: 'sandbox',
  explanation:
    'Scalers, imputers, encoders and feature selectors must learn only from the rows used for training. Fitting them on all data before splitting lets the validation rows influence the model, so the reported score is too good.',
  thresholds: z
    .object({
      failOnLintOnly: z.boolean().default(true),
      /** Findings in exploration files (EDA notebooks, scratch scripts) count like the graded code's. */
      failOnExploratory: z.boolean().default(false),
    })
    .strict(),
  measure,
  judge: (v, t) => {
    const traced = num(v, 'tracedLeaks');
    const lint = num(v, 'lintFindings');
    const soft = num(v, 'lintWarnings');
    const exploratory = t.failOnExploratory ? num(v, 'exploratoryFindings') : 0;
    if (traced > 0) return { status: 'fail', summary: `${traced} preprocessing step(s) were fitted on rows later used for validation (seen at run time)` };
    if (lint > 0) return { status: t.failOnLintOnly ? 'fail' : 'warn', summary: `${lint} place(s) in the code fit preprocessing before splitting the data` };
    if (exploratory > 0) return { status: 'fail', summary: `${exploratory} place(s) in exploratory work fit preprocessing or compute statistics before splitting the data` };
    if (soft > 0) return { status: 'warn', summary: 'cross-validation is run on an estimator without a Pipeline around its preprocessing' };
    return { status: 'pass', summary: 'every traced preprocessing step was fitted inside the training folds' };
  },
});

function measure(ctx: MeasureContext): Measurement {
  const skip = untraced(ctx);
  if (skip) return skip;
  const leaks = ctx.train!.trace.preprocessingLeaks;
  const rules = ['fit-before-split', 'select-before-split', 'stat-before-split', 'fit-on-test-rows'] as const;
  const hard = lintOf(ctx, rules);
  const soft = lintOf(ctx, ['no-pipeline-in-cv']);
  const exploratory = lintOf(ctx, rules, true);
  return {
    ran: true,
    values: { tracedLeaks: leaks.length, lintFindings: hard.length, lintWarnings: soft.length, exploratoryFindings: exploratory.length },
    evidence: [...leaks.map(leakEvidence), ...hard.map(lintEvidence), ...soft.map(lintEvidence), ...exploratory.map(lintEvidence)].slice(0, 100),
  };
}
