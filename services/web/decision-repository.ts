import type { Db } from '../db/pool.ts';

export const DECISIONS = ['advance', 'hold', 'reject'] as const;
export type Decision = (typeof DECISIONS)[number];

export interface DecisionRow {
  id: number;
  submissionId: string;
  decision: Decision;
  note: string;
  decidedBy: string;
  decidedByKey: string | null;
  createdAt: Date;
}

const toRow = (r: Record<string, unknown>): DecisionRow => ({
  id: Number(r.id),
  submissionId: r.submission_id as string,
  decision: r.decision as Decision,
  note: r.note as string,
  decidedBy: r.decided_by as string,
  decidedByKey: (r.decided_by_key as string) ?? null,
  createdAt: r.created_at as Date,
});

/** Reviewers' decisions: append-only (a trigger refuses updates), the newest is the current one. */
export class DecisionRepository {
  constructor(private readonly db: Db) {}

  async append(d: Omit<DecisionRow, 'id' | 'createdAt'>): Promise<DecisionRow> {
    const { rows } = await this.db.query(`INSERT INTO decisions (submission_id, decision, note, decided_by, decided_by_key) VALUES ($1,$2,$3,$4,$5) RETURNING *`, [
      d.submissionId,
      d.decision,
      d.note,
      d.decidedBy,
      d.decidedByKey,
    ]);
    return toRow(rows[0]);
  }

  /** Every decision on this submission, newest first. */
  async history(submissionId: string): Promise<DecisionRow[]> {
    const { rows } = await this.db.query('SELECT * FROM decisions WHERE submission_id = $1 ORDER BY created_at DESC, id DESC', [submissionId]);
    return rows.map(toRow);
  }
}
