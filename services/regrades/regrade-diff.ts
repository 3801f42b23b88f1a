import { z } from 'zod';

export const REGRADE_PATHS = ['rescore', 'sandbox'] as const;
export const ITEM_STATUSES = ['pending', 'done', 'failed', 'skipped'] as const;
export const FLIPS = ['pass_to_fail', 'fail_to_pass'] as const;

const side = z.object({ reportId: z.string().uuid().nullable(), rubricVersion: z.number().int().nullable(), score: z.number(), passed: z.boolean() });

/** One submission in a regrade: what it was, what it became, how it got there. */
export const diffRowSchema = z.object({
  submissionId: z.string().uuid(),
  candidate: z.string().nullable(),
  fileName: z.string(),
  path: z.enum(REGRADE_PATHS),
  pathReason: z.string(),
  status: z.enum(ITEM_STATUSES),
  old: side.nullable(),
  new: side.nullable(),
  flip: z.enum(FLIPS).nullable(),
  scoreDelta: z.number().nullable(),
  error: z.string().nullable(),
});
export type DiffRow = z.infer<typeof diffRowSchema>;

/** A verdict flip between two scored versions; null when either side is missing or they agree. */
export function flipOf(oldPassed: boolean | null | undefined, newPassed: boolean | null | undefined): DiffRow['flip'] {
  if (oldPassed == null || newPassed == null || oldPassed === newPassed) return null;
  return oldPassed ? 'pass_to_fail' : 'fail_to_pass';
}

const rank = (r: DiffRow) => (r.flip === 'pass_to_fail' ? 0 : r.flip === 'fail_to_pass' ? 1 : r.status === 'failed' ? 2 : r.scoreDelta ? 3 : 4);

/**
 * Flips first (pass → fail before fail → pass), then submissions that could not be regraded, then
 * score changes by size, then the unchanged; ties by submission id so the order is stable.
 */
export function orderDiff(rows: DiffRow[]): DiffRow[] {
  return [...rows].sort(
    (a, b) => rank(a) - rank(b) || Math.abs(b.scoreDelta ?? 0) - Math.abs(a.scoreDelta ?? 0) || (a.submissionId < b.submissionId ? -1 : a.submissionId > b.submissionId ? 1 : 0),
  );
}

export interface DiffSummary {
  total: number;
  flips: number;
  passToFail: number;
  failToPass: number;
  scoreChanged: number;
  unchanged: number;
  failed: number;
  skipped: number;
}

export function summarizeDiff(rows: DiffRow[]): DiffSummary {
  const s: DiffSummary = { total: rows.length, flips: 0, passToFail: 0, failToPass: 0, scoreChanged: 0, unchanged: 0, failed: 0, skipped: 0 };
  for (const r of rows) {
    if (r.flip) s.flips++;
    if (r.flip === 'pass_to_fail') s.passToFail++;
    if (r.flip === 'fail_to_pass') s.failToPass++;
    if (r.status === 'failed') s.failed++;
    else if (r.status === 'skipped') s.skipped++;
    else if (!r.flip && r.scoreDelta) s.scoreChanged++;
    else if (!r.flip && r.status === 'done') s.unchanged++;
  }
  return s;
}
