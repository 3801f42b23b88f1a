import { z } from 'zod';
import type { Db } from '../db/pool.ts';
import { candidateKeySql } from './candidate-key.ts';
import { DECISIONS, type Decision } from './decision-repository.ts';
import { topSimilaritySql } from './similarity-queries.ts';

export const SORTS = ['submitted', 'candidate', 'status', 'score', 'flags'] as const;
export type SortKey = (typeof SORTS)[number];
export const STATUS_FILTERS = ['queued', 'running', 'completed', 'failed', 'passed', 'not-passed', 'invalid'] as const;
export const DECISION_FILTERS = [...DECISIONS, 'none'] as const;

/** The list's filters and sort, from the query string; a bad value falls back to its default. */
export const cohortQuerySchema = z.object({
  q: z.string().max(200).catch(''),
  status: z.enum(['', ...STATUS_FILTERS]).catch(''),
  flag: z.string().max(100).catch(''),
  decision: z.enum(['', ...DECISION_FILTERS]).catch(''),
  sort: z.enum(SORTS).catch('submitted'),
  dir: z.enum(['asc', 'desc']).catch('desc'),
  /** The similar-code list's bar, in percent (absent: the rubric's flag threshold, else the default). */
  similar: z.coerce.number().int().min(20).max(100).optional().catch(undefined),
  /** `flagged`: only candidates whose latest attempt carries the rubric's similarity flag. */
  similarity: z.enum(['', 'flagged']).catch(''),
});
export type CohortQuery = z.infer<typeof cohortQuerySchema>;

export interface AttemptSummary {
  id: string;
  fileName: string;
  createdAt: Date;
  status: 'queued' | 'running' | 'completed' | 'failed' | null;
  finalScore: number | null;
  passed: boolean | null;
  /** Graded, but the candidate's pipeline produced no holdout predictions (run-outcome.ts's didNotRun). */
  invalid: boolean;
}

/** One candidate: their latest attempt, its scores and flags, and the earlier attempts. */
export interface CohortRow extends AttemptSummary {
  candidate: string | null;
  candidateEmail: string | null;
  phase: string | null;
  reportId: string | null;
  automaticScore: number | null;
  /** Manual items of the report's rubric that have a score, and how many there are. */
  manualScored: number;
  manualTotal: number;
  /** Ids of the checks that failed or errored in the latest report. */
  flags: string[];
  decision: { decision: Decision; note: string; by: string; at: Date } | null;
  earlier: AttemptSummary[];
  /** Reviewers only: where the latest attempt stands among the assessment's graded submissions (POSITIONS). */
  position: CohortPosition;
  /** The highest similarity with anyone else's code when the report's rubric flags it (at or above its similarity.flagAbove), else null. */
  similarityFlag: number | null;
  /** The highest stored similarity with anyone else's code, flagged or not (null: no stored match, i.e. none above the 0.2 floor, or not compared yet). */
  similarityTop: number | null;
}

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
 * Every attempt with its final score as the list shows it: the stored automatic score combined
 * with the current manual scores as the report's rubric version says (scoring.ts's formula), and
 * passed = pass mark reached with no critical check failed. Attempts of one candidate share a key:
 * the invite's e-mail, else the name given at upload, else the submission itself.
 */
export const ATTEMPTS = `
  attempts AS (
    SELECT s.id, s.candidate, s.file_name, s.created_at, i.candidate_email,
           ${candidateKeySql('s', 'i')} AS candidate_key,
           g.status, g.phase, r.id AS report_id,
           (r.document->>'automaticScore')::float8 AS automatic_score,
           CASE WHEN COALESCE((rb.document->'manual'->>'weight')::float8, 0) > 0 THEN jsonb_array_length(rb.document->'manual'->'items') ELSE 0 END AS manual_total,
           COALESCE(man.scored, 0) AS manual_scored,
           CASE WHEN r.id IS NULL THEN NULL
                WHEN COALESCE((rb.document->'manual'->>'weight')::float8, 0) > 0 AND man.max > 0
                  THEN (1 - (rb.document->'manual'->>'weight')::float8) * (r.document->>'automaticScore')::float8
                       + (rb.document->'manual'->>'weight')::float8 * 100 * man.got / man.max
                ELSE (r.document->>'automaticScore')::float8 END AS final_score,
           r.critical_fail, (rb.document->>'passMark')::float8 AS pass_mark,
           (r.id IS NOT NULL AND jsonb_typeof(r.document->'metrics'->'holdout') IS DISTINCT FROM 'object') AS invalid,
           COALESCE(r.flags, '{}') AS flags, r.quality, (rb.document->'similarity'->>'flagAbove')::float8 AS similarity_flag_above,
           d.decision, d.note AS decision_note, d.decided_by, d.created_at AS decided_at
    FROM submissions s
    LEFT JOIN invites i ON i.id = s.invite_id
    LEFT JOIN LATERAL (SELECT status, phase FROM gradings WHERE submission_id = s.id ORDER BY queued_at DESC LIMIT 1) g ON true
    LEFT JOIN LATERAL (
      SELECT r.id, r.rubric_version, r.document,
             ARRAY(SELECT c->>'id' FROM jsonb_array_elements(r.document->'checks') c WHERE c->>'status' IN ('fail', 'error')) AS flags,
             EXISTS (SELECT 1 FROM jsonb_array_elements(r.document->'checks') c WHERE c->>'severity' = 'critical' AND c->>'status' = 'fail') AS critical_fail,
             COALESCE(
               (SELECT (c->'values'->>'savingsVsReference')::float8 FROM jsonb_array_elements(r.document->'checks') c WHERE c->>'id' = 'quality.business_cost' LIMIT 1),
               (r.document->'measurements'->'quality.business_cost'->'values'->>'savingsVsReference')::float8
             ) AS quality
      FROM reports r WHERE r.submission_id = s.id ORDER BY r.created_at DESC, r.id LIMIT 1) r ON true
    LEFT JOIN rubrics rb ON rb.assessment_id = s.assessment_id AND rb.version = r.rubric_version
    LEFT JOIN LATERAL (
      SELECT count(*)::int AS scored, sum(LEAST(item."maxPoints", GREATEST(0, ms.points))) AS got, sum(item."maxPoints") AS max
      FROM jsonb_to_recordset(rb.document->'manual'->'items') AS item(id text, "maxPoints" float8)
      JOIN LATERAL (SELECT points FROM manual_scores m WHERE m.submission_id = s.id AND m.item_id = item.id ORDER BY m.created_at DESC, m.id DESC LIMIT 1) ms ON true
    ) man ON true
    LEFT JOIN LATERAL (SELECT decision, note, decided_by, created_at FROM decisions WHERE submission_id = s.id ORDER BY created_at DESC, id DESC LIMIT 1) d ON true
    WHERE s.assessment_id = $1
  ),
  scored AS (
    SELECT a.*, CASE WHEN a.final_score IS NULL THEN NULL ELSE a.final_score >= COALESCE(a.pass_mark, 0) AND NOT a.critical_fail END AS passed
    FROM attempts a
  ),
  ranked AS (
    SELECT sc.*, row_number() OVER (PARTITION BY candidate_key ORDER BY created_at DESC, id DESC) AS rn FROM scored sc
  )`;

/**
 * Appended to ATTEMPTS: each graded submission's percentiles, computed by Postgres in one pass
 * (percent_rank: the share of the others ranked strictly below) over every submission of the
 * assessment with a report, by its latest report — earlier attempts count as submissions of their
 * own. Quality is the `quality.business_cost` check's `savingsVsReference` (the stored check, else
 * its measurement); the score is the final score as the list shows it (automatic plus current
 * manual scores). A measure the submission does not have gives nulls.
 */
export const POSITIONS = `
  positions AS (
    SELECT a.id,
           CASE WHEN a.quality IS NOT NULL THEN percent_rank() OVER (PARTITION BY a.quality IS NULL ORDER BY a.quality) END AS quality_pr,
           CASE WHEN a.quality IS NOT NULL THEN count(*) OVER (PARTITION BY a.quality IS NULL) END::int AS quality_n,
           percent_rank() OVER (ORDER BY a.final_score) AS score_pr,
           (count(*) OVER ())::int AS score_n
    FROM attempts a WHERE a.final_score IS NOT NULL
  )`;

/** A row's POSITIONS columns (absent for a submission without a report) as a CohortPosition. */
export function positionOf(r: { quality_pr?: number | null; quality_n?: number | null; score_pr?: number | null; score_n?: number | null } | undefined): CohortPosition {
  const standing = (pr: number | null | undefined, n: number | null | undefined): Standing | null => (pr === null || pr === undefined ? null : { betterThan: Number(pr), of: Number(n) });
  return { quality: standing(r?.quality_pr, r?.quality_n), score: standing(r?.score_pr, r?.score_n) };
}

const STATUS_RANK = `CASE WHEN l.status = 'failed' THEN 0 WHEN l.status = 'queued' OR l.status IS NULL THEN 1 WHEN l.status = 'running' THEN 2 WHEN l.invalid THEN 3 WHEN l.passed THEN 5 ELSE 4 END`;
const ORDER: Record<SortKey, string> = {
  submitted: 'l.created_at',
  candidate: "lower(COALESCE(l.candidate, ''))",
  status: STATUS_RANK,
  score: 'COALESCE(l.final_score, -1)',
  flags: 'cardinality(l.flags)',
};

/** Candidates of one assessment, filtered and sorted by the database (at most `limit` rows). */
export async function listCohort(db: Db, assessmentId: string, q: CohortQuery, limit = 500): Promise<CohortRow[]> {
  const dir = q.dir === 'asc' ? 'ASC' : 'DESC';
  const { rows } = await db.query(
    `WITH ${ATTEMPTS}, ${POSITIONS}
     SELECT l.*, p.quality_pr, p.quality_n, p.score_pr, p.score_n, COALESCE((
       SELECT jsonb_agg(jsonb_build_object('id', e.id, 'fileName', e.file_name, 'createdAt', e.created_at, 'status', e.status, 'finalScore', e.final_score, 'passed', e.passed, 'invalid', e.invalid) ORDER BY e.created_at DESC, e.id DESC)
       FROM ranked e WHERE e.candidate_key = l.candidate_key AND e.rn > 1), '[]'::jsonb) AS earlier,
       sim.top AS similarity_top, sim.flag AS similarity_flag
     FROM ranked l
     LEFT JOIN positions p ON p.id = l.id
     LEFT JOIN LATERAL (SELECT t.top, CASE WHEN t.top >= l.similarity_flag_above::real THEN t.top END AS flag FROM (SELECT ${topSimilaritySql('l.id', 'l.candidate_key')} AS top) t) sim ON true
     WHERE l.rn = 1
       AND ($2 = '' OR strpos(lower(COALESCE(l.candidate, '')), lower($2)) > 0 OR strpos(lower(COALESCE(l.candidate_email, '')), lower($2)) > 0 OR strpos(lower(l.file_name), lower($2)) > 0)
       AND ($3 = '' OR $3 = ANY(l.flags))
       AND ($4 = '' OR ($4 = 'passed' AND l.passed IS TRUE) OR ($4 = 'not-passed' AND l.passed IS FALSE AND NOT l.invalid) OR ($4 = 'invalid' AND l.invalid) OR l.status = $4)
       AND ($5 = '' OR ($5 = 'none' AND l.decision IS NULL) OR l.decision = $5)
       AND ($7 = '' OR sim.flag IS NOT NULL)
     ORDER BY ${ORDER[q.sort]} ${dir} NULLS LAST, l.created_at DESC, l.id DESC
     LIMIT $6`,
    [assessmentId, q.q, q.flag, q.status, q.decision, limit, q.similarity],
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
    automaticScore: r.automatic_score,
    finalScore: r.final_score,
    passed: r.passed,
    invalid: r.invalid,
    manualScored: r.manual_scored,
    manualTotal: r.manual_total,
    flags: r.flags,
    decision: r.decision ? { decision: r.decision, note: r.decision_note, by: r.decided_by, at: r.decided_at } : null,
    earlier: (r.earlier as (Omit<AttemptSummary, 'createdAt'> & { createdAt: string })[]).map((e) => ({ ...e, createdAt: new Date(e.createdAt) })),
    similarityFlag: r.similarity_flag === null ? null : Number(r.similarity_flag),
    similarityTop: r.similarity_top === null ? null : Number(r.similarity_top),
    position: positionOf(r),
  }));
}

/** How many candidates the assessment has, and every check that is flagged on a latest attempt. */
export async function cohortFacets(db: Db, assessmentId: string): Promise<{ total: number; flagsSeen: string[] }> {
  const { rows } = await db.query(
    `WITH ${ATTEMPTS}
     SELECT count(*)::int AS total, ARRAY(SELECT DISTINCT f FROM ranked, unnest(flags) f WHERE rn = 1 ORDER BY f) AS flags_seen
     FROM ranked WHERE rn = 1`,
    [assessmentId],
  );
  return { total: rows[0].total, flagsSeen: rows[0].flags_seen };
}
