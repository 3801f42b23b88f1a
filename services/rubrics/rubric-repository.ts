import crypto from 'node:crypto';
import type { Db } from '../db/pool.ts';
import { withTransaction } from '../db/pool.ts';
import { parseRubric, type Rubric } from './rubric-schema.ts';
import { DomainError, NotFoundError } from '../errors.ts';

export interface RubricVersion {
  assessmentId: string;
  version: number;
  rubric: Rubric;
  contentSha256: string;
  createdAt: string;
}

/** Canonical JSON (sorted keys) so that the same rubric always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** What the repository needs of the assessments (the AssessmentRegistry): which exist, and their shipped rubric. */
export interface RubricSource {
  has(assessmentId: string): boolean;
  defaultRubric(assessmentId: string): Promise<Rubric>;
}

export class RubricRepository {
  constructor(
    private readonly db: Db,
    private readonly assessments: RubricSource,
  ) {}

  /**
   * Stores a rubric as the next version of its assessment, unless the same content is already a
   * version (then that one is returned with created=false).
   */
  async push(input: unknown, createdBy: string | null): Promise<RubricVersion & { created: boolean }> {
    const rubric = parseRubric(input);
    if (!this.assessments.has(rubric.assessmentId)) throw new DomainError('invalid_input', 'unknown_assessment', `assessment "${rubric.assessmentId}" does not exist`);
    const hash = crypto.createHash('sha256').update(canonicalJson(rubric)).digest('hex');
    return withTransaction(this.db, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`rubric:${rubric.assessmentId}`]);
      const existing = await c.query('SELECT * FROM rubrics WHERE assessment_id = $1 AND content_sha256 = $2', [rubric.assessmentId, hash]);
      if (existing.rows[0]) return { ...toVersion(existing.rows[0]), created: false };
      const { rows } = await c.query(
        `INSERT INTO rubrics (assessment_id, version, rubric_id, content_sha256, document, created_by)
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5 FROM rubrics WHERE assessment_id = $1
         RETURNING *`,
        [rubric.assessmentId, rubric.id, hash, rubric, createdBy],
      );
      return { ...toVersion(rows[0]), created: true };
    });
  }

  /** The newest version; the assessment's shipped default becomes version 1 if there is none. */
  async latest(assessmentId: string): Promise<RubricVersion> {
    const { rows } = await this.db.query('SELECT * FROM rubrics WHERE assessment_id = $1 ORDER BY version DESC LIMIT 1', [assessmentId]);
    if (rows[0]) return toVersion(rows[0]);
    const v = await this.push(await this.assessments.defaultRubric(assessmentId), 'default');
    return v;
  }

  /** The rubric a grading is scored with: the version it is pinned to (a regrade's re-run), else the latest. */
  async forGrading(assessmentId: string, pinnedVersion: number | null): Promise<RubricVersion> {
    return pinnedVersion ? this.get(assessmentId, pinnedVersion) : this.latest(assessmentId);
  }

  async get(assessmentId: string, version: number): Promise<RubricVersion> {
    const { rows } = await this.db.query('SELECT * FROM rubrics WHERE assessment_id = $1 AND version = $2', [assessmentId, version]);
    if (!rows[0]) throw new NotFoundError(`rubric version ${version} of ${assessmentId}`);
    return toVersion(rows[0]);
  }

  async list(assessmentId: string): Promise<RubricVersion[]> {
    const { rows } = await this.db.query('SELECT * FROM rubrics WHERE assessment_id = $1 ORDER BY version', [assessmentId]);
    return rows.map(toVersion);
  }
}

function toVersion(row: Record<string, unknown>): RubricVersion {
  return {
    assessmentId: row.assessment_id as string,
    version: row.version as number,
    rubric: parseRubric(row.document),
    contentSha256: row.content_sha256 as string,
    createdAt: (row.created_at as Date).toISOString(),
  };
}
