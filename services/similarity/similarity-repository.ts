import crypto from 'node:crypto';
import { z } from 'zod';
import { withTransaction, type Db } from '../db/pool.ts';
import type { IndexedText, SharedFragment, StoredTokens } from './similarity-engine.ts';
import { sourcePartsSchema, type ComparedSource, type SourcePart } from './similarity-source.ts';

export interface SimilarityDocument {
  id: string;
  assessmentId: string;
  kind: 'submission' | 'reference';
  submissionId: string | null;
  name: string;
  source: string;
  parts: SourcePart[];
  tokens: StoredTokens | null;
}

export interface StoredPair {
  leftId: string;
  rightId: string;
  similarity: number;
  longest: number;
  fragments: SharedFragment[];
  /** false: similarity estimated from shared fingerprints only (no fragments yet). */
  detailed: boolean;
}

const lines = z.object({ startRow: z.number().int(), endRow: z.number().int() });
const fragmentsSchema = z.array(z.object({ left: lines, right: lines, kgrams: z.number().int() }));

const toDocument = (r: Record<string, unknown>): SimilarityDocument => ({
  id: r.id as string,
  assessmentId: r.assessment_id as string,
  kind: r.kind as SimilarityDocument['kind'],
  submissionId: (r.submission_id as string) ?? null,
  name: r.name as string,
  source: r.source as string,
  parts: sourcePartsSchema.parse(r.parts),
  tokens: typeof r.tokens === 'string' && Buffer.isBuffer(r.token_regions) ? { tokens: r.tokens, mapping: r.token_regions } : null,
});

export class SimilarityRepository {
  constructor(private readonly db: Db) {}

  /**
   * Stores a document and its fingerprints in one transaction. A submission indexed again keeps
   * its document id (pairs where it is the earlier side stay) with new text and fingerprints.
   */
  async saveDocument(
    doc: { assessmentId: string; kind: SimilarityDocument['kind']; submissionId: string | null; name: string },
    source: ComparedSource,
    indexed: IndexedText,
  ): Promise<SimilarityDocument> {
    const { fingerprints, tokens } = indexed;
    return withTransaction(this.db, async (client) => {
      const { rows } = await client.query(
        `INSERT INTO similarity_documents (id, assessment_id, kind, submission_id, name, source, parts, fingerprints, tokens, token_regions)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
         ON CONFLICT (submission_id) DO UPDATE SET source = EXCLUDED.source, parts = EXCLUDED.parts, fingerprints = EXCLUDED.fingerprints,
           tokens = EXCLUDED.tokens, token_regions = EXCLUDED.token_regions
         RETURNING id`,
        [crypto.randomUUID(), doc.assessmentId, doc.kind, doc.submissionId, doc.name, source.text, JSON.stringify(source.parts), fingerprints.length, tokens.tokens, tokens.mapping],
      );
      const id = rows[0].id as string;
      await client.query('DELETE FROM similarity_fingerprints WHERE document_id = $1', [id]);
      await client.query(
        `INSERT INTO similarity_fingerprints (assessment_id, hash, document_id)
         SELECT $1, h, $2 FROM unnest($3::integer[]) AS h ON CONFLICT DO NOTHING`,
        [doc.assessmentId, id, fingerprints],
      );
      return { id, assessmentId: doc.assessmentId, kind: doc.kind, submissionId: doc.submissionId, name: doc.name, source: source.text, parts: source.parts, tokens };
    });
  }

  /**
   * The documents of an assessment that share at least `minShared` of the given fingerprints, with
   * how many they share and hold, most shared first: every reference, and the submissions that
   * arrived before the subject's (all of them with `anyDate`, for a new reference).
   */
  async candidates(
    assessmentId: string,
    fingerprints: number[],
    excludeId: string,
    minShared: number,
    limit: number,
    anyDate = false,
  ): Promise<{ id: string; kind: SimilarityDocument['kind']; shared: number; fingerprints: number }[]> {
    const { rows } = await this.db.query(
      `WITH hits AS (
         SELECT f.document_id, count(*) AS shared FROM similarity_fingerprints f
         WHERE f.assessment_id = $1 AND f.hash = ANY($2::integer[]) AND f.document_id <> $3
         GROUP BY f.document_id HAVING count(*) >= $4)
       SELECT d.id, d.kind, d.fingerprints, hits.shared FROM hits JOIN similarity_documents d ON d.id = hits.document_id
       LEFT JOIN submissions s ON s.id = d.submission_id
       WHERE d.kind = 'reference' OR $6 OR (s.created_at, s.id) < (
         SELECT me.created_at, me.id FROM similarity_documents sd JOIN submissions me ON me.id = sd.submission_id WHERE sd.id = $3)
       ORDER BY hits.shared DESC LIMIT $5`,
      [assessmentId, fingerprints, excludeId, minShared, limit, anyDate],
    );
    return rows.map((r) => ({ id: r.id as string, kind: r.kind as SimilarityDocument['kind'], shared: Number(r.shared), fingerprints: r.fingerprints as number }));
  }

  async documents(ids: string[]): Promise<SimilarityDocument[]> {
    const { rows } = await this.db.query('SELECT * FROM similarity_documents WHERE id = ANY($1::uuid[])', [ids]);
    return rows.map(toDocument);
  }

  /** Replaces the pairs found for `leftId` (and those the compared documents found with it before: one row per pair). */
  async savePairs(assessmentId: string, leftId: string, pairs: StoredPair[], comparedIds: string[] = []): Promise<void> {
    await this.db.query('DELETE FROM similarity_pairs WHERE left_id = $1 OR (right_id = $1 AND left_id = ANY($2::uuid[]))', [leftId, comparedIds]);
    if (pairs.length === 0) return;
    await this.db.query(
      `INSERT INTO similarity_pairs (left_id, right_id, assessment_id, similarity, longest, fragments, detailed)
       SELECT $1, p.right_id, $2, p.similarity, p.longest, p.fragments, p.detailed
       FROM jsonb_to_recordset($3::jsonb) AS p(right_id uuid, similarity real, longest integer, fragments jsonb, detailed boolean)`,
      [leftId, assessmentId, JSON.stringify(pairs.map((p) => ({ right_id: p.rightId, similarity: p.similarity, longest: p.longest, fragments: p.fragments, detailed: p.detailed })))],
    );
  }

  /** The pairs a submission is part of (either side), most similar first, with the other document's submission; `withId`: only the pair with that document. */
  async pairsOfSubmission(
    submissionId: string,
    limit = 10,
    withId: string | null = null,
  ): Promise<(StoredPair & { other: Pick<SimilarityDocument, 'id' | 'kind' | 'name' | 'submissionId'> })[]> {
    const { rows } = await this.db.query(
      `SELECT p.*, o.id AS other_id, o.kind AS other_kind, o.name AS other_name, o.submission_id AS other_submission
       FROM similarity_documents d
       JOIN similarity_pairs p ON p.left_id = d.id OR p.right_id = d.id
       JOIN similarity_documents o ON o.id = CASE WHEN p.left_id = d.id THEN p.right_id ELSE p.left_id END
       WHERE d.submission_id = $1 AND ($3::uuid IS NULL OR o.id = $3::uuid) ORDER BY p.similarity DESC LIMIT $2`,
      [submissionId, limit, withId],
    );
    return rows.map((r) => ({
      ...toPair(r),
      other: { id: r.other_id as string, kind: r.other_kind as SimilarityDocument['kind'], name: r.other_name as string, submissionId: (r.other_submission as string) ?? null },
    }));
  }

  async pairsOfAssessment(assessmentId: string, minSimilarity: number, limit = 500): Promise<StoredPair[]> {
    const { rows } = await this.db.query('SELECT * FROM similarity_pairs WHERE assessment_id = $1 AND similarity >= $2 ORDER BY similarity DESC LIMIT $3', [
      assessmentId,
      minSimilarity,
      limit,
    ]);
    return rows.map(toPair);
  }

  async document(id: string): Promise<SimilarityDocument | null> {
    const { rows } = await this.db.query('SELECT * FROM similarity_documents WHERE id = $1', [id]);
    return rows[0] ? toDocument(rows[0]) : null;
  }

  async markRun(submissionId: string, status: 'queued' | 'done' | 'failed', fields: { error?: string | null; compared?: number | null; attempt?: boolean } = {}): Promise<void> {
    await this.db.query(
      `INSERT INTO similarity_runs (submission_id, status, attempts, last_error, compared) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (submission_id) DO UPDATE SET status = $2, attempts = similarity_runs.attempts + $3,
         last_error = $4, compared = COALESCE($5, similarity_runs.compared), updated_at = now()`,
      [submissionId, status, fields.attempt ? 1 : 0, fields.error ?? null, fields.compared ?? null],
    );
  }

  async run(submissionId: string): Promise<{ status: string; attempts: number; lastError: string | null; compared: number | null } | null> {
    const { rows } = await this.db.query('SELECT * FROM similarity_runs WHERE submission_id = $1', [submissionId]);
    const r = rows[0];
    return r ? { status: r.status as string, attempts: r.attempts as number, lastError: (r.last_error as string) ?? null, compared: (r.compared as number) ?? null } : null;
  }

  /** Submissions of an assessment in the order they arrived: what a rebuild compares again. */
  async submissionsInOrder(assessmentId: string): Promise<string[]> {
    const { rows } = await this.db.query('SELECT id FROM submissions WHERE assessment_id = $1 ORDER BY created_at, id', [assessmentId]);
    return rows.map((r) => r.id as string);
  }
}

function toPair(r: Record<string, unknown>): StoredPair {
  return {
    leftId: r.left_id as string,
    rightId: r.right_id as string,
    similarity: Number(r.similarity),
    longest: r.longest as number,
    fragments: fragmentsSchema.parse(r.fragments),
    detailed: r.detailed as boolean,
  };
}
