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

/** Which report the API serves for a submission, without its document. */
export interface ServedReportRef {
  id: string;
  createdAt: string;
}

/**
 * Ids of reports whose stored document this process has checked against the schema. Reports are
 * immutable (append-only table), so one check per id is enough; the bound keeps memory flat.
 */
class CheckedIds {
  private readonly ids = new Set<string>();
  constructor(private readonly max: number) {}
  has(id: string): boolean {
    return this.ids.has(id);
  }
  add(id: string): void {
    if (this.ids.size >= this.max) this.ids.delete(this.ids.values().next().value!);
    this.ids.add(id);
  }
}

/** Append-only report history. One report per sandboxed grading, enforced by a unique index. */
export class ReportRepository {
  private readonly checked = new CheckedIds(50_000);
  constructor(private readonly db: Db) {}

  private toReport(r: Record<string, unknown>): StoredReport {
    const id = r.id as string;
    const document = this.checked.has(id) ? (r.document as ReportDocument) : reportDocumentSchema.parse(r.document);
    this.checked.add(id);
    return {
      id,
      submissionId: r.submission_id as string,
      gradingId: (r.grading_id as string) ?? null,
      rubricVersion: r.rubric_version as number,
      score: r.score as number,
      passed: r.passed as boolean,
      createdAt: (r.created_at as Date).toISOString(),
      document,
    };
  }

  /**
   * The report the API serves for a submission (the latest, or `reportId` when it belongs to that
   * submission) with the submission's assessment, in one round trip; null when the submission
   * does not exist.
   */
  async served(submissionId: string, reportId: string | null): Promise<{ assessmentId: string; report: ServedReportRef | null } | null> {
    const { rows } = await this.db.query(
      `SELECT s.assessment_id, r.id, r.created_at
         FROM submissions s
         LEFT JOIN LATERAL (
           SELECT id, created_at FROM reports
            WHERE submission_id = s.id AND ($2::uuid IS NULL OR id = $2::uuid)
            ORDER BY created_at DESC, id LIMIT 1
         ) r ON true
        WHERE s.id = $1`,
      [submissionId, reportId],
    );
    const row = rows[0];
    if (!row) return null;
    return { assessmentId: row.assessment_id, report: row.id ? { id: row.id, createdAt: row.created_at.toISOString() } : null };
  }

  /**
   * A report's document as JSON text, as stored (never parsed and re-serialised per request: that
   * was most of the report endpoint's CPU time), checked against the schema once per process.
   */
  async documentJson(id: string): Promise<string | null> {
    const { rows } = await this.db.query('SELECT document::text AS json FROM reports WHERE id = $1', [id]);
    const json: string | undefined = rows[0]?.json;
    if (json === undefined) return null;
    if (!this.checked.has(id)) {
      reportDocumentSchema.parse(JSON.parse(json));
      this.checked.add(id);
    }
    return json;
  }

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
    return rows[0] ? this.toReport(rows[0]) : null;
  }

  async history(submissionId: string): Promise<Omit<StoredReport, 'document'>[]> {
    const { rows } = await this.db.query('SELECT id, submission_id, grading_id, rubric_version, score, passed, created_at FROM reports WHERE submission_id = $1 ORDER BY created_at DESC', [
      submissionId,
    ]);
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
    return rows[0] ? this.toReport(rows[0]) : null;
  }

  async countForGrading(gradingId: string): Promise<number> {
    const { rows } = await this.db.query('SELECT count(*)::int AS n FROM reports WHERE grading_id = $1', [gradingId]);
    return rows[0].n;
  }
}
