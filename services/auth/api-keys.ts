import crypto from 'node:crypto';
import type { Db } from '../db/pool.ts';
import { AuthError, NotFoundError } from '../errors.ts';

export const ROLES = ['admin', 'reviewer', 'ci'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  keyId: string | null;
  name: string;
  role: Role;
  /** null: every assessment. */
  assessmentIds: string[] | null;
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest();

/**
 * API keys: 32 random bytes, shown once, stored as a SHA-256 hash (the key itself carries the
 * entropy, so a slow hash adds nothing). The configured admin key is compared in constant time.
 */
export class ApiKeyService {
  private readonly adminHash: Buffer;

  constructor(
    private readonly db: Db,
    adminKey: string,
  ) {
    this.adminHash = sha256(adminKey);
  }

  async authenticate(header: string | undefined): Promise<Principal> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
    if (!token) throw new AuthError();
    const hash = sha256(token);
    if (crypto.timingSafeEqual(hash, this.adminHash)) return { keyId: null, name: 'admin (config)', role: 'admin', assessmentIds: null };
    const { rows } = await this.db.query('SELECT id, name, role, assessment_ids, revoked_at FROM api_keys WHERE key_hash = $1', [hash.toString('hex')]);
    const row = rows[0];
    if (!row) throw new AuthError('unknown API key');
    if (row.revoked_at) throw new AuthError('this API key has been revoked');
    return { keyId: row.id, name: row.name, role: row.role, assessmentIds: row.assessment_ids };
  }

  async create(input: { name: string; role: Role; assessmentIds: string[] | null }): Promise<{ id: string; key: string; prefix: string }> {
    const prefix = crypto.randomBytes(4).toString('hex');
    const key = `gk_${prefix}_${crypto.randomBytes(32).toString('base64url')}`;
    const id = crypto.randomUUID();
    await this.db.query('INSERT INTO api_keys (id, name, role, key_prefix, key_hash, assessment_ids) VALUES ($1,$2,$3,$4,$5,$6)', [
      id,
      input.name,
      input.role,
      prefix,
      sha256(key).toString('hex'),
      input.assessmentIds,
    ]);
    return { id, key, prefix };
  }

  async revoke(id: string): Promise<void> {
    const { rowCount } = await this.db.query('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1', [id]);
    if (!rowCount) throw new NotFoundError(`API key ${id}`);
  }

  /** The scope of a key, to check that whoever revokes it may manage it; null when unknown. */
  async scopeOf(id: string): Promise<{ assessmentIds: string[] | null } | null> {
    const { rows } = await this.db.query('SELECT assessment_ids FROM api_keys WHERE id = $1', [id]);
    return rows[0] ? { assessmentIds: rows[0].assessment_ids } : null;
  }

  async list(): Promise<{ id: string; name: string; role: Role; prefix: string; assessmentIds: string[] | null; createdAt: string; revokedAt: string | null }[]> {
    const { rows } = await this.db.query('SELECT * FROM api_keys ORDER BY created_at');
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role,
      prefix: r.key_prefix,
      assessmentIds: r.assessment_ids,
      createdAt: r.created_at.toISOString(),
      revokedAt: r.revoked_at?.toISOString() ?? null,
    }));
  }
}

export function canSeeAssessment(p: Principal, assessmentId: string): boolean {
  return p.assessmentIds === null || p.assessmentIds.includes(assessmentId);
}

/**
 * Whether everything scoped to `ids` (null: every assessment) lies within what this key may see.
 * Keys and webhooks are managed only inside one's own scope: a key limited to some assessments
 * cannot mint an unlimited key or read another tenant's webhooks.
 */
export function withinScope(p: Principal, ids: readonly string[] | null): boolean {
  if (p.assessmentIds === null) return true;
  return ids !== null && ids.every((id) => p.assessmentIds!.includes(id));
}
