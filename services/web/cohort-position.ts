import type { Db } from '../db/pool.ts';
import { ATTEMPTS, POSITIONS, positionOf, type CohortPosition } from './cohort-queries.ts';

export type { CohortPosition, Standing } from './cohort-queries.ts';

/**
 * Reviewer-only: the submission's percentile on money saved and on final score among the graded
 * submissions of its assessment (cohort-queries.ts's POSITIONS, the same numbers as the list's
 * column). Null for a measure the submission does not have; both null before its first report.
 */
export async function cohortPosition(db: Db, assessmentId: string, submissionId: string): Promise<CohortPosition> {
  const { rows } = await db.query(`WITH ${ATTEMPTS}, ${POSITIONS} SELECT quality_pr, quality_n, score_pr, score_n FROM positions WHERE id = $2`, [assessmentId, submissionId]);
  return positionOf(rows[0]);
}
