import { z } from 'zod';
import type { Measurement } from '../check-schema.ts';
import { defineCheck, fmt, num } from '../define-check.ts';
import type { MeasureContext } from '../measure-context.ts';
import { leakEvidence, lintEvidence, lintOf, untraced } from './trace-and-lint.ts';

export const leakageResampling = defineCheck({
  id: 'leakage.resampling',
  title: 'Resampling only inside training folds',
  category: 'leakage',
  basis: 'sandbox',
  explanation:
    'Over- or under-sampling to balance classes must happen after the split, on training rows only. Resampling first puts copies or synthetic versions of validation rows into training, which inflates the score.',
  thresholds: z.object({}).strict(),
  measure,
  judge: (v) => {
    const traced = num(v, 'tracedLeaks');
    const lint = num(v, 'lintFindings');
    if (traced > 0) return { status: 'fail', summary: `resampled rows reached validation folds (${fmt(num(v, 'syntheticValidationRows'), 0)} synthetic or repeated rows seen)` };
    if (lint > 0) return { status: 'fail', summary: `${lint} place(s) in the code resample before splitting the data` };
    return { status: 'pass', summary: 'no resampling before a split was seen' };
  },
});

function measure(ctx: MeasureContext): Measurement {
  const skip = untraced(ctx);
  if (skip) return skip;
  const leaks = ctx.train!.trace.resamplingLeaks;
  const lint = lintOf(ctx, ['resample-before-split']);
  const exploratory = lintOf(ctx, ['resample-before-split'], true); // shown, never counted
  return {
    ran: true,
    values: {
      tracedLeaks: leaks.length,
      lintFindings: lint.length,
      syntheticValidationRows: leaks.reduce((s, l) => s + l.syntheticOrRepeatedValidationRows, 0),
    },
    evidence: [...leaks.map(leakEvidence), ...lint.map(lintEvidence), ...exploratory.map(lintEvidence)].slice(0, 100),
  };
}
