import { z } from 'zod';
import type { Evidence, Measurement } from '../check-schema.ts';
import type { PostOutcome } from '../harness-output.ts';
import { defineCheck, num, pct, rate } from '../define-check.ts';
import { locationText } from '../evidence-location.ts';
import { diffRate, ev, notRun, type MeasureContext } from '../measure-context.ts';
import { mean } from '../metrics.ts';

export const leakageTarget = defineCheck({
  id: 'leakage.target',
  title: 'No reliance on information from after the outcome',
  category: 'leakage',
  basis: 'host',
  explanation:
    'Some columns are only known after a customer has already churned. A model that uses them looks excellent on historical data and fails in real use. We compare predictions with those columns as recorded and as they are known at prediction time.',
  thresholds: z.object({ warnFlipRate: rate.default(0.01), failFlipRate: rate.default(0.03) }).strict(),
  measure,
  judge: (v, t) => {
    const flip = num(v, 'flipRate');
    const what = `${pct(flip)} of predictions change when post-outcome columns are blanked to what is known at prediction time`;
    if (flip > t.failFlipRate) return { status: 'fail', summary: `${what}: the model relies on information from after the outcome` };
    if (flip > t.warnFlipRate) return { status: 'warn', summary: `${what}: some reliance on post-outcome information` };
    return { status: 'pass', summary: what };
  },
});

function measure({ input: { manifest }, pred, labels, probs, train }: MeasureContext): Measurement {
  if (!manifest.recordedVariant) return notRun('this assessment has no post-outcome columns to test');
  const rec = pred?.variants[manifest.recordedVariant];
  if (!labels || !rec?.labels || rec.labels.length !== labels.length) return notRun('no valid predictions on both holdout variants');
  const flips = diffRate(rec.labels, labels);
  const shift = probs && rec.probabilities?.length === probs.length ? mean(probs.map((p, i) => Math.abs(p - rec.probabilities![i]!))) : null;
  const flipped = rec.labels.filter((l, i) => l !== labels[i]).length;
  const columns = manifest.postOutcomeColumns.join(', ');
  return {
    ran: true,
    values: { flipRate: flips, meanProbabilityShift: shift, rowsCompared: labels.length, columns },
    evidence: [
      ev(
        'Prediction flips',
        `${flipped} of ${labels.length} holdout customers get a different label when ${columns} is as billing recorded it after the churn window vs as known at prediction time` +
          (shift !== null ? `; mean change in churn probability ${shift.toFixed(3)}` : ''),
      ),
      // Where in the code: only when the model does rely on them, else the lines would accuse a clean model.
      ...(flipped > 0 ? entryEvidence(manifest.postOutcomeColumns, train?.postOutcome ?? null) : []),
    ],
  };
}

/**
 * The lines where the post-outcome columns enter the features, as the harness's static lint found
 * them (lint_target.py), or, for a column it could not follow, a sentence that says so.
 */
export function entryEvidence(columns: readonly string[], found: PostOutcome | null): Evidence[] {
  if (!found) return [ev('Where they enter the features', `the static lint did not look at the code for ${columns.join(', ')}: it cannot tell which line brings them in`)];
  const out: Evidence[] = found.uses.map((u) => ev(`${u.column} enters the features`, u.how, { file: u.file, line: u.line, code: u.code }));
  for (const column of found.unknown) {
    const removed = found.removed.filter((r) => r.column === column);
    out.push(
      ev(
        `${column}: entry not found`,
        removed.length
          ? `the static lint saw ${column} removed (${removed.map((r) => locationText(r.file, r.line)).join(', ')}) and found no line where it enters the features: it cannot tell how the model gets it (a derived column or a path it does not follow)`
          : `the static lint found no line where ${column} enters the features and cannot tell how the model gets it`,
        removed[0] ? { file: removed[0].file, line: removed[0].line, code: removed[0].code } : {},
      ),
    );
  }
  return out;
}
