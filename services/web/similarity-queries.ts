import type { Db } from '../db/pool.ts';
import { candidateKeySql } from './candidate-key.ts';

/** One side of a stored similarity pair, as the reviewer's pages name it. */
export interface PairSide {
  documentId: string;
  kind: 'submission' | 'reference';
  submissionId: string | null;
  /** The candidate's name (the file name for an API upload without one), or the reference solution's name. */
  label: string;
  /** Whose code it is: the candidate key of cohort-queries.ts, or `ref:<document id>` for a reference solution. */
  node: string;
}

export interface CohortPair {
  left: PairSide;
  right: PairSide;
  similarity: number;
  longest: number;
}

/** Pairs below this are not listed on the assessment page unless the reviewer or the rubric asks for lower. */
export const DEFAULT_LIST_THRESHOLD = 0.5;

/** SELECT list naming a similarity document `d` (joined with its submission `s` and invite `i`) as a PairSide. */
const SIDE_COLUMNS = `d.id AS "documentId", d.kind, d.submission_id AS "submissionId",
  CASE WHEN d.kind = 'reference' THEN d.name ELSE COALESCE(s.candidate, s.file_name) END AS label,
  CASE WHEN d.kind = 'reference' THEN 'ref:' || d.id::text ELSE ${candidateKeySql('s', 'i')} END AS node`;
const SIDE_FROM = `similarity_documents d LEFT JOIN submissions s ON s.id = d.submission_id LEFT JOIN invites i ON i.id = s.invite_id`;

/**
 * SQL for the highest stored similarity between the submission `subId` and anyone else's code
 * (other candidates or reference solutions; the same candidate's other attempts are left out,
 * `node` being that candidate's key). Both are SQL expressions of the enclosing query.
 */
export const topSimilaritySql = (subId: string, node: string) => `(
  SELECT max(p.similarity) FROM similarity_documents me
  JOIN similarity_pairs p ON p.left_id = me.id OR p.right_id = me.id
  JOIN LATERAL (SELECT ${SIDE_COLUMNS} FROM ${SIDE_FROM} WHERE d.id = CASE WHEN p.left_id = me.id THEN p.right_id ELSE p.left_id END) o ON true
  WHERE me.submission_id = ${subId} AND o.node <> ${node})`;

/**
 * The bar of the assessment page's similar-code list: the reviewer's choice, else the flag
 * threshold of the assessment's newest rubric, else DEFAULT_LIST_THRESHOLD.
 */
export async function listThreshold(db: Db, assessmentId: string, requested: number | undefined): Promise<number> {
  if (requested !== undefined) return requested;
  const { rows } = await db.query(`SELECT (document->'similarity'->>'flagAbove')::float8 AS flag FROM rubrics WHERE assessment_id = $1 ORDER BY version DESC LIMIT 1`, [assessmentId]);
  return (rows[0]?.flag as number | null | undefined) ?? DEFAULT_LIST_THRESHOLD;
}

/**
 * Stored pairs of an assessment at or above `min`, most similar first, filtered by the database:
 * a candidate's attempts compared with each other, and reference solutions with each other, are
 * left out.
 */
export async function cohortPairs(db: Db, assessmentId: string, min: number, limit = 500): Promise<CohortPair[]> {
  const { rows } = await db.query(
    `SELECT p.similarity, p.longest, to_jsonb(l) AS left, to_jsonb(r) AS right
     FROM similarity_pairs p
     JOIN LATERAL (SELECT ${SIDE_COLUMNS} FROM ${SIDE_FROM} WHERE d.id = p.left_id) l ON true
     JOIN LATERAL (SELECT ${SIDE_COLUMNS} FROM ${SIDE_FROM} WHERE d.id = p.right_id) r ON true
     WHERE p.assessment_id = $1 AND p.similarity >= $2::real AND l.node <> r.node AND (l.kind = 'submission' OR r.kind = 'submission')
     ORDER BY p.similarity DESC, p.left_id, p.right_id
     LIMIT $3`,
    [assessmentId, min, limit],
  );
  return rows.map((r) => ({ left: r.left as PairSide, right: r.right as PairSide, similarity: Number(r.similarity), longest: r.longest as number }));
}

export interface TopMatch {
  other: PairSide;
  similarity: number;
  longest: number;
}

/** A submission's most similar stored matches with anyone else's code (its candidate's other attempts left out), and how many there are. */
export async function topMatches(db: Db, submissionId: string, limit = 3): Promise<{ matches: TopMatch[]; total: number }> {
  const { rows } = await db.query(
    `WITH me AS (SELECT ${SIDE_COLUMNS} FROM ${SIDE_FROM} WHERE d.submission_id = $1),
     matches AS (
       SELECT p.similarity, p.longest, to_jsonb(o) AS other FROM me
       JOIN similarity_pairs p ON p.left_id = me."documentId" OR p.right_id = me."documentId"
       JOIN LATERAL (SELECT ${SIDE_COLUMNS} FROM ${SIDE_FROM} WHERE d.id = CASE WHEN p.left_id = me."documentId" THEN p.right_id ELSE p.left_id END) o ON true
       WHERE o.node <> me.node)
     SELECT m.*, count(*) OVER () AS total FROM matches m ORDER BY m.similarity DESC, m.other->>'documentId' LIMIT $2`,
    [submissionId, limit],
  );
  return {
    matches: rows.map((r) => ({ other: r.other as PairSide, similarity: Number(r.similarity), longest: r.longest as number })),
    total: rows.length ? Number(rows[0].total) : 0,
  };
}
