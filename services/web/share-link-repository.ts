import crypto from 'node:crypto';
import type { Db } from '../db/pool.ts';

export interface ShareLinkRow {
  id: string;
  submissionId: string;
  reportId: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedBy: string | null;
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
/** Tokens are 32 random bytes in base64url: anything else is not worth a database lookup. */
export const SHARE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

const toRow = (r: Record<string, unknown>): ShareLinkRow => ({
  id: r.id as string,
  submissionId: r.submission_id as string,
  reportId: r.report_id as string,
  createdBy: r.created_by as string,
  createdAt: r.created_at as Date,
  expiresAt: r.expires_at as Date,
  revokedAt: (r.revoked_at as Date) ?? null,
  revokedBy: (r.revoked_by as string) ?? null,
});

/**
 * Read-only links to one report. The token is random and shown once; the table keeps its SHA-256,
 * so a database reader cannot open a link. A link works until it expires or is revoked.
 */
export class ShareLinkRepository {
  constructor(private readonly db: Db) {}

  async create(s: { submissionId: string; reportId: string; createdBy: string; expiresAt: Date }): Promise<{ link: ShareLinkRow; token: string }> {
    const token = crypto.randomBytes(32).toString('base64url');
    const { rows } = await this.db.query(`INSERT INTO share_links (id, submission_id, report_id, token_sha256, created_by, expires_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING *`, [
      crypto.randomUUID(),
      s.submissionId,
      s.reportId,
      sha256(token),
      s.createdBy,
      s.expiresAt,
    ]);
    return { link: toRow(rows[0]), token };
  }

  /** The live link this token opens, or null (unknown, expired or revoked). */
  async findLive(token: string): Promise<ShareLinkRow | null> {
    if (!SHARE_TOKEN.test(token)) return null;
    const { rows } = await this.db.query('SELECT * FROM share_links WHERE token_sha256 = $1 AND revoked_at IS NULL AND expires_at > now()', [sha256(token)]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  async get(id: string): Promise<ShareLinkRow | null> {
    const { rows } = await this.db.query('SELECT * FROM share_links WHERE id = $1', [id]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  async listBySubmission(submissionId: string): Promise<ShareLinkRow[]> {
    const { rows } = await this.db.query('SELECT * FROM share_links WHERE submission_id = $1 ORDER BY created_at DESC', [submissionId]);
    return rows.map(toRow);
  }

  async revoke(id: string, by: string): Promise<void> {
    await this.db.query('UPDATE share_links SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL', [id, by]);
  }
}
