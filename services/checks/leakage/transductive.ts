import { z } from 'zod';
import type { Measurement } from '../check-schema.ts';
import { defineCheck, num, pct, rate } from '../define-check.ts';
import { diffRate, ev, notRun, type MeasureContext } from '../measure-context.ts';

export const leakageTransductive = defineCheck({
  id: 'leakage.transductive',
  title: 'Predictions do not depend on the rest of the batch',
  category: 'leakage',
  basis: 'host',
  explanation:
    "A customer's prediction must not change depending on which other customers are scored with it. We predict the hidden data whole, in shuffled chunks and row by row; any difference means the model refits or ranks at prediction time.",
  thresholds: z.object({ maxDiffRate: rate.default(0) }).strict(),
  measure,
  judge: (v, t) => {
    const d = Math.max(num(v, 'chunkDiffRate') || 0, num(v, 'rowDiffRate') || 0);
    const what = `${pct(num(v, 'chunkDiffRate'))} of labels differ in shuffled chunks, ${pct(num(v, 'rowDiffRate'))} row by row`;
    return d > t.maxDiffRate ? { status: 'fail', summary: `${what}: predictions depend on the batch` } : { status: 'pass', summary: what };
  },
});

function measure({ pred, labels }: MeasureContext): Measurement {
  const tr = pred?.transductive;
  if (!labels || !tr) return notRun(tr?.problem ?? 'no valid predictions on the holdout');
  const chunkDiff = tr.shuffledChunks && tr.shuffledChunks.length === labels.length ? diffRate(tr.shuffledChunks, labels) : null;
  const rowPairs = tr.sampleRows.map((r, i) => [tr.rowByRow[i] ?? null, labels[r] ?? null] as const);
  const failedRows = rowPairs.filter(([a]) => a === null).length;
  const differing = rowPairs.filter(([a, b]) => a !== null && a !== b).length;
  const rowDiff = rowPairs.length ? differing / rowPairs.length : null;
  if (chunkDiff === null && rowDiff === null) return notRun(tr.problem ?? 'the batch probes produced no predictions');
  return {
    ran: true,
    values: { chunkDiffRate: chunkDiff, rowDiffRate: rowDiff, chunkSize: tr.chunkSize, sampleRows: rowPairs.length, failedSingleRows: failedRows },
    evidence: [
      ev(
        'Shuffled chunks',
        chunkDiff === null ? 'not available' : `${Math.round(chunkDiff * labels.length)} of ${labels.length} labels differ when predicted in shuffled chunks of ${tr.chunkSize}`,
      ),
      ev('Row by row', `${differing} of ${rowPairs.length} sampled rows differ when predicted alone${failedRows ? `; ${failedRows} single-row calls failed` : ''}`),
      ...(tr.problem ? [ev('Problem', tr.problem)] : []),
    ],
  };
}
