import type { Db } from '../db/pool.ts';

export interface SubmissionListRow {
  id: string;
  candidate: string | null;
  candidateEmail: string | null;
  fileName: string;
  createdAt: Date;
  status: 'queued' | 'running' | 'completed' | 'failed' | null;
  phase: string | null;
  reportId: string | null;
  score: number | null;
  passed: boolean | null;
  rubricVersion: number | null;
  /** Ids of the checks that failed or errored in the latest report. */
  flags: string[];
}

/** The reviewer's submission list of one assessment: latest grading, latest report, its flags. */
export async function listSubmissions(db: Db, assessmentId: string, limit = 500): Promise<SubmissionListRow[]> {
  const { rows } = await db.query(
    `SELECT s.id, s.candidate, s.file_name, s.created_at, i.candidate_email,
            g.status, g.phase, r.id AS report_id, r.score, r.passed, r.rubric_version,
            COALESCE(r.flags, '{}') AS flags
     FROM submissions s
     LEFT JOIN invites i ON i.id = s.invite_id
     LEFT JOIN LATERAL (SELECT status, phase FROM gradings WHERE submission_id = s.id ORDER BY queued_at DESC LIMIT 1) g ON true
     LEFT JOIN LATERAL (
       SELECT id, score, passed, rubric_version,
              ARRAY(SELECT c->>'id' FROM jsonb_array_elements(document->'checks') c WHERE c->>'status' IN ('fail', 'error')) AS flags
       FROM reports WHERE submission_id = s.id ORDER BY created_at DESC, id LIMIT 1) r ON true
     WHERE s.assessment_id = $1
     ORDER BY s.created_at DESC LIMIT $2`,
    [assessmentId, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    candidate: r.candidate,
    candidateEmail: r.candidate_email,
    fileName: r.file_name,
    createdAt: r.created_at,
    status: r.status,
    phase: r.phase,
    reportId: r.report_id,
    score: r.score,
    passed: r.passed,
    rubricVersion: r.rubric_version,
    flags: r.flags,
  }));
}

/** Submission counts per assessment for the reviewer's start page. */
export async function countsByAssessment(db: Db): Promise<Map<string, { total: number; graded: number; lastAt: Date | null }>> {
  const { rows } = await db.query(
    `SELECT s.assessment_id, count(*)::int AS total, max(s.created_at) AS last_at,
            count(*) FILTER (WHERE EXISTS (SELECT 1 FROM reports r WHERE r.submission_id = s.id))::int AS graded
     FROM submissions s GROUP BY s.assessment_id`,
  );
  return new Map(rows.map((r) => [r.assessment_id as string, { total: r.total as number, graded: r.graded as number, lastAt: r.last_at as Date | null }]));
}
