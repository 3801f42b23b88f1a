import crypto from 'node:crypto';
import type { Db, Queryable } from '../db/pool.ts';
import { reportDocumentSchema, type ReportDocument } from './report-schema.ts';

export interface StoredReport {
  id: string;
  submissionId: string;
  gradingId: string | null;
  rubricVersion: number;
  score: number;
  passed: boolean;
  createdAt: string;
  document: ReportDocument;
}

const toReport = (r: Record<string, unknown>): StoredReport => ({
  id: r.id as string,
  submissionId: r.submission_id as string,
  gradingId: (r.grading_id as string) ?? null,
  rubricVersion: r.rubric_version as number,
  score: r.score as number,
  passed: r.passed as boolean,
  createdAt: (r.created_at as Date).toISOString(),
  document: reportDocumentSchema.parse(r.document),
});

/** Append-only report history. One report per sandboxed grading, enforced by a unique index. */
export class ReportRepository {
  constructor(private readonly db: Db) {}

  /** Inserts the report of a grading; returns false when that grading already has one. */
  async insert(doc: ReportDocument, client: Queryable = this.db): Promise<{ id: string; inserted: boolean }> {
    const parsed = reportDocumentSchema.parse(doc);
    const id = crypto.randomUUID();
    const { rowCount } = await client.query(
      `INSERT INTO reports (id, submission_id, grading_id, rubric_id, rubric_version, score, passed, document)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
       ON CONFLICT (grading_id) WHERE grading_id IS NOT NULL DO NOTHING`,
      [id, parsed.submissionId, parsed.gradingId, parsed.provenance.rubricId, parsed.provenance.rubricVersion, parsed.score, parsed.passed, parsed],
    );
    return { id, inserted: rowCount === 1 };
  }

  async latest(submissionId: string): Promise<StoredReport | null> {
    const { rows } = await this.db.query('SELECT * FROM reports WHERE submission_id = $1 ORDER BY created_at DESC, id LIMIT 1', [submissionId]);
    return rows[0] ? toReport(rows[0]) : null;
  }

  async history(submissionId: string): Promise<Omit<StoredReport, 'document'>[]> {
    const { rows } = await this.db.query(
      'SELECT id, submission_id, grading_id, rubric_version, score, passed, created_at FROM reports WHERE submission_id = $1 ORDER BY created_at DESC',
      [submissionId],
    );
    return rows.map((r) => ({
      id: r.id,
      submissionId: r.submission_id,
      gradingId: r.grading_id,
      rubricVersion: r.rubric_version,
      score: r.score,
      passed: r.passed,
      createdAt: r.created_at.toISOString(),
    }));
  }

  async get(id: string): Promise<StoredReport | null> {
    const { rows } = await this.db.query('SELECT * FROM reports WHERE id = $1', [id]);
    return rows[0] ? toReport(rows[0]) : null;
  }

  async countForGrading(gradingId: string): Promise<number> {
    const { rows } = await this.db.query('SELECT count(*)::int AS n FROM reports WHERE grading_id = $1', [gradingId]);
    return rows[0].n;
  }
}
