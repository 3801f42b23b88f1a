import type { Db } from '../db/pool.ts';

/** Submission counts per assessment for the reviewer's start page. */
export async function countsByAssessment(db: Db): Promise<Map<string, { total: number; graded: number; lastAt: Date | null }>> {
  const { rows } = await db.query(
    `SELECT s.assessment_id, count(*)::int AS total, max(s.created_at) AS last_at,
            count(*) FILTER (WHERE EXISTS (SELECT 1 FROM reports r WHERE r.submission_id = s.id))::int AS graded
     FROM submissions s GROUP BY s.assessment_id`,
  );
  return new Map(rows.map((r) => [r.assessment_id as string, { total: r.total as number, graded: r.graded as number, lastAt: r.last_at as Date | null }]));
}
