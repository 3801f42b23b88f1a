import type { Db } from '../db/pool.ts';

export interface ManualScoreRow {
  id: number;
  submissionId: string;
  reportId: string;
  rubricVersion: number;
  itemId: string;
  points: number;
  comment: string;
  scoredBy: string;
  scoredByKey: string | null;
  createdAt: Date;
}

const toRow = (r: Record<string, unknown>): ManualScoreRow => ({
  id: Number(r.id),
  submissionId: r.submission_id as string,
  reportId: r.report_id as string,
  rubricVersion: r.rubric_version as number,
  itemId: r.item_id as string,
  points: Number(r.points),
  comment: r.comment as string,
  scoredBy: r.scored_by as string,
  scoredByKey: (r.scored_by_key as string) ?? null,
  createdAt: r.created_at as Date,
});

/** Reviewers' manual item scores: append-only (a trigger refuses updates), newest per item wins. */
export class ManualScoreRepository {
  constructor(private readonly db: Db) {}

  async append(s: Omit<ManualScoreRow, 'id' | 'createdAt'>): Promise<ManualScoreRow> {
    const { rows } = await this.db.query(
      `INSERT INTO manual_scores (submission_id, report_id, rubric_version, item_id, points, comment, scored_by, scored_by_key)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING *`,
      [s.submissionId, s.reportId, s.rubricVersion, s.itemId, s.points, s.comment, s.scoredBy, s.scoredByKey],
    );
    return toRow(rows[0]);
  }

  /** Every change, newest first. */
  async history(submissionId: string): Promise<ManualScoreRow[]> {
    const { rows } = await this.db.query('SELECT * FROM manual_scores WHERE submission_id = $1 ORDER BY created_at DESC, id DESC', [submissionId]);
    return rows.map(toRow);
  }

  /** The current score of each item for each of these submissions. */
  async current(submissionIds: string[]): Promise<Map<string, ManualScoreRow[]>> {
    const out = new Map<string, ManualScoreRow[]>();
    if (!submissionIds.length) return out;
    const { rows } = await this.db.query(
      `SELECT DISTINCT ON (submission_id, item_id) * FROM manual_scores
       WHERE submission_id = ANY($1) ORDER BY submission_id, item_id, created_at DESC, id DESC`,
      [submissionIds],
    );
    for (const r of rows.map(toRow)) out.set(r.submissionId, [...(out.get(r.submissionId) ?? []), r]);
    return out;
  }
}
