import type { Db } from '../db/pool.ts';
import { ATTEMPTS } from './cohort-queries.ts';

/** Where one submission stands among the graded submissions of its assessment on one measure. */
export interface Standing {
  /** Share (0..1) of the other graded submissions with a strictly lower value. */
  betterThan: number;
  /** Graded submissions that have this measure, this one included. */
  of: number;
}

/** Reviewer-only: the submission's percentile on money saved and on final score. */
export interface CohortPosition {
  quality: Standing | null;
  score: Standing | null;
}

/**
 * Percentiles computed by Postgres (percent_rank: the share of the others ranked strictly below)
 * over every submission of the assessment with a report, each by its latest report. Quality is the
 * `quality.business_cost` check's `savingsVsReference` (the stored check, else its measurement);
 * the score is the final score as the cohort list shows it (automatic plus current manual scores).
 * Null for a measure the submission does not have.
 */
export async function cohortPosition(db: Db, assessmentId: string, submissionId: string): Promise<CohortPosition> {
  const { rows } = await db.query(
    `WITH ${ATTEMPTS},
     graded AS (
       SELECT a.id, a.final_score,
              COALESCE(
                (SELECT (c->'values'->>'savingsVsReference')::float8 FROM jsonb_array_elements(r.document->'checks') c WHERE c->>'id' = 'quality.business_cost' LIMIT 1),
                (r.document->'measurements'->'quality.business_cost'->'values'->>'savingsVsReference')::float8
              ) AS quality
       FROM attempts a JOIN reports r ON r.id = a.report_id
     ),
     by_quality AS (SELECT id, percent_rank() OVER (ORDER BY quality) AS pr, count(*) OVER () AS n FROM graded WHERE quality IS NOT NULL),
     by_score AS (SELECT id, percent_rank() OVER (ORDER BY final_score) AS pr, count(*) OVER () AS n FROM graded WHERE final_score IS NOT NULL)
     SELECT q.pr AS quality_pr, q.n::int AS quality_n, s.pr AS score_pr, s.n::int AS score_n
     FROM (SELECT 1) one
     LEFT JOIN by_quality q ON q.id = $2
     LEFT JOIN by_score s ON s.id = $2`,
    [assessmentId, submissionId],
  );
  const r = rows[0];
  return {
    quality: r?.quality_pr === null || r?.quality_pr === undefined ? null : { betterThan: Number(r.quality_pr), of: r.quality_n },
    score: r?.score_pr === null || r?.score_pr === undefined ? null : { betterThan: Number(r.score_pr), of: r.score_n },
  };
}
