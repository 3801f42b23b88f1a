import crypto from 'node:crypto';
import type { Db } from '../db/pool.ts';
import type { Principal, Role } from '../auth/api-keys.ts';

export interface WebSession {
  principal: Principal;
  csrfToken: string;
  expiresAt: Date;
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/**
 * Reviewer sessions: an API key is exchanged once for a random session id (the cookie). Only
 * the id's hash is stored. A session ends at its expiry, at sign-out, or as soon as the API key
 * it came from is revoked.
 */
export class SessionRepository {
  constructor(private readonly db: Db) {}

  async create(principal: Principal, ttlSeconds: number): Promise<{ id: string; session: WebSession }> {
    const id = crypto.randomBytes(32).toString('base64url');
    const csrfToken = crypto.randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    await this.db.query("DELETE FROM web_sessions WHERE expires_at < now() - interval '1 day'");
    await this.db.query(
      `INSERT INTO web_sessions (id_sha256, api_key_id, name, role, assessment_ids, csrf_token, expires_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7)`,
      [sha256(id), principal.keyId, principal.name, principal.role, principal.assessmentIds, csrfToken, expiresAt],
    );
    return { id, session: { principal, csrfToken, expiresAt } };
  }

  async find(id: string | undefined): Promise<WebSession | null> {
    if (!id || id.length > 100) return null;
    const { rows } = await this.db.query(
      `SELECT s.* FROM web_sessions s LEFT JOIN api_keys k ON k.id = s.api_key_id
       WHERE s.id_sha256 = $1 AND s.ended_at IS NULL AND s.expires_at > now()
         AND (s.api_key_id IS NULL OR k.revoked_at IS NULL)`,
      [sha256(id)],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      principal: { keyId: r.api_key_id, name: r.name, role: r.role as Role, assessmentIds: r.assessment_ids },
      csrfToken: r.csrf_token,
      expiresAt: r.expires_at,
    };
  }

  async end(id: string): Promise<void> {
    await this.db.query('UPDATE web_sessions SET ended_at = now() WHERE id_sha256 = $1 AND ended_at IS NULL', [sha256(id)]);
  }
}
