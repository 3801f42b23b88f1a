import type { Db, Queryable } from '../db/pool.ts';

export interface InviteRow {
  id: string;
  assessmentId: string;
  candidateName: string;
  candidateEmail: string;
  expiresAt: Date;
  maxAttempts: number;
  attemptsUsed: number;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
}

const toInvite = (r: Record<string, unknown>): InviteRow => ({
  id: r.id as string,
  assessmentId: r.assessment_id as string,
  candidateName: r.candidate_name as string,
  candidateEmail: r.candidate_email as string,
  expiresAt: r.expires_at as Date,
  maxAttempts: r.max_attempts as number,
  attemptsUsed: r.attempts_used as number,
  createdBy: r.created_by as string,
  createdAt: r.created_at as Date,
  revokedAt: (r.revoked_at as Date) ?? null,
});

export class InviteRepository {
  constructor(private readonly db: Db) {}

  async insert(
    i: { id: string; assessmentId: string; candidateName: string; candidateEmail: string; tokenSha256: string; expiresAt: Date; maxAttempts: number; createdBy: string },
    client: Queryable = this.db,
  ): Promise<InviteRow> {
    const { rows } = await client.query(
      `INSERT INTO invites (id, assessment_id, candidate_name, candidate_email, token_sha256, expires_at, max_attempts, created_by)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING *`,
      [i.id, i.assessmentId, i.candidateName, i.candidateEmail, i.tokenSha256, i.expiresAt, i.maxAttempts, i.createdBy],
    );
    return toInvite(rows[0]);
  }

  async get(id: string): Promise<InviteRow | null> {
    const { rows } = await this.db.query('SELECT * FROM invites WHERE id = $1', [id]);
    return rows[0] ? toInvite(rows[0]) : null;
  }

  /** The invite a token belongs to: id and token hash must both match. */
  async byToken(id: string, tokenSha256: string): Promise<InviteRow | null> {
    const { rows } = await this.db.query('SELECT * FROM invites WHERE id = $1 AND token_sha256 = $2', [id, tokenSha256]);
    return rows[0] ? toInvite(rows[0]) : null;
  }

  /**
   * Takes one attempt if the invite is still open. Atomic, so two uploads racing for the last
   * attempt cannot both get it.
   */
  async reserveAttempt(id: string): Promise<InviteRow | null> {
    const { rows } = await this.db.query(
      `UPDATE invites SET attempts_used = attempts_used + 1
       WHERE id = $1 AND revoked_at IS NULL AND expires_at > now() AND attempts_used < max_attempts RETURNING *`,
      [id],
    );
    return rows[0] ? toInvite(rows[0]) : null;
  }

  /** Withdraws an invite: its link stops working at once. Idempotent (keeps the first time). */
  async withdraw(id: string): Promise<InviteRow | null> {
    const { rows } = await this.db.query('UPDATE invites SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING *', [id]);
    return rows[0] ? toInvite(rows[0]) : null;
  }

  /** Gives back an attempt whose upload was refused before it was accepted for grading. */
  async releaseAttempt(id: string): Promise<void> {
    await this.db.query('UPDATE invites SET attempts_used = attempts_used - 1 WHERE id = $1 AND attempts_used > 0', [id]);
  }

  async listByAssessment(assessmentId: string, limit = 200): Promise<(InviteRow & { submissions: number })[]> {
    const { rows } = await this.db.query(
      `SELECT i.*, (SELECT count(*)::int FROM submissions s WHERE s.invite_id = i.id) AS submissions
       FROM invites i WHERE i.assessment_id = $1 ORDER BY i.created_at DESC LIMIT $2`,
      [assessmentId, limit],
    );
    return rows.map((r) => ({ ...toInvite(r), submissions: r.submissions as number }));
  }
}
