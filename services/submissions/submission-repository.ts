import crypto from 'node:crypto';
import type { Db, Queryable } from '../db/pool.ts';
import { GRADING_REASONS, GRADING_STATE, type GraderPhase, type GradingPhase, type GradingReason, type GradingStatus } from './grading-states.ts';

export interface SubmissionRow {
  id: string;
  assessmentId: string;
  archiveSha256: string;
  archiveBytes: number;
  archiveFormat: 'zip' | 'tar.gz';
  fileName: string;
  candidate: string | null;
  inviteId: string | null;
  createdAt: string;
}

export { GRADING_REASONS };

export interface GradingRow {
  id: string;
  submissionId: string;
  reason: GradingReason;
  status: GradingStatus;
  phase: GradingPhase;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  heartbeatAt: string | null;
  workerHost: string | null;
  attempts: number;
  lastError: string | null;
}

export interface GradingToRun {
  grading: GradingRow;
  assessmentId: string;
  archiveSha256: string;
  /** Pinned by a regrade; null: the assessment's latest rubric. */
  rubricVersion: number | null;
  regradeId: string | null;
}

export interface FailedGrading {
  grading: GradingRow;
  assessmentId: string;
  regradeId: string | null;
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : null);

const toSubmission = (r: Record<string, unknown>): SubmissionRow => ({
  id: r.id as string,
  assessmentId: r.assessment_id as string,
  archiveSha256: r.archive_sha256 as string,
  archiveBytes: Number(r.archive_bytes),
  archiveFormat: r.archive_format as SubmissionRow['archiveFormat'],
  fileName: r.file_name as string,
  candidate: (r.candidate as string) ?? null,
  inviteId: (r.invite_id as string) ?? null,
  createdAt: iso(r.created_at)!,
});

const GRADING_COLUMNS = ['id', 'submission_id', 'reason', 'status', 'phase', 'queued_at', 'started_at', 'finished_at', 'heartbeat_at', 'worker_host', 'attempts', 'last_error'] as const;

const toGrading = (r: Record<string, unknown>): GradingRow => ({
  id: r.id as string,
  submissionId: r.submission_id as string,
  reason: r.reason as GradingRow['reason'],
  status: r.status as GradingRow['status'],
  phase: r.phase as GradingPhase,
  queuedAt: iso(r.queued_at)!,
  startedAt: iso(r.started_at),
  finishedAt: iso(r.finished_at),
  heartbeatAt: iso(r.heartbeat_at),
  workerHost: (r.worker_host as string) ?? null,
  attempts: r.attempts as number,
  lastError: (r.last_error as string) ?? null,
});

export class SubmissionRepository {
  constructor(private readonly db: Db) {}

  /** Inserts a submission; with an idempotency key already used, returns that submission instead. */
  async createSubmission(
    s: Omit<SubmissionRow, 'id' | 'createdAt'> & { idempotencyKey?: string | null },
    client: Queryable = this.db,
  ): Promise<{ submission: SubmissionRow; created: boolean }> {
    const { rows } = await client.query(
      `INSERT INTO submissions (id, assessment_id, archive_sha256, archive_bytes, archive_format, file_name, candidate, invite_id, idempotency_key)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
      [crypto.randomUUID(), s.assessmentId, s.archiveSha256, s.archiveBytes, s.archiveFormat, s.fileName, s.candidate, s.inviteId, s.idempotencyKey ?? null],
    );
    if (rows[0]) return { submission: toSubmission(rows[0]), created: true };
    const existing = await this.byIdempotencyKey(s.idempotencyKey!, client);
    return { submission: existing!, created: false };
  }

  async byIdempotencyKey(key: string, client: Queryable = this.db): Promise<SubmissionRow | null> {
    const { rows } = await client.query('SELECT * FROM submissions WHERE idempotency_key = $1', [key]);
    return rows[0] ? toSubmission(rows[0]) : null;
  }

  async isArchiveReferenced(sha256: string): Promise<boolean> {
    const { rows } = await this.db.query('SELECT 1 FROM submissions WHERE archive_sha256 = $1 LIMIT 1', [sha256]);
    return rows.length > 0;
  }

  /** Creates the grading for this key, or returns the one that already has it. */
  async createGrading(submissionId: string, idempotencyKey: string, reason: GradingRow['reason'], client: Queryable = this.db): Promise<{ grading: GradingRow; created: boolean }> {
    const { rows } = await client.query(
      `INSERT INTO gradings (id, submission_id, idempotency_key, reason, status, phase)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
      [crypto.randomUUID(), submissionId, idempotencyKey, reason, GRADING_STATE.queued.status, GRADING_STATE.queued.phase],
    );
    if (rows[0]) return { grading: toGrading(rows[0]), created: true };
    const existing = await client.query('SELECT * FROM gradings WHERE idempotency_key = $1', [idempotencyKey]);
    return { grading: toGrading(existing.rows[0]), created: false };
  }

  async getSubmission(id: string): Promise<SubmissionRow | null> {
    const { rows } = await this.db.query('SELECT * FROM submissions WHERE id = $1', [id]);
    return rows[0] ? toSubmission(rows[0]) : null;
  }

  /** A submission with its latest grading, in one round trip (the status endpoint's read). */
  async withLatestGrading(id: string): Promise<{ submission: SubmissionRow; grading: GradingRow | null } | null> {
    const { rows } = await this.db.query(
      `SELECT s.*, ${GRADING_COLUMNS.map((c) => `g.${c} AS g_${c}`).join(', ')}
         FROM submissions s
         LEFT JOIN LATERAL (SELECT * FROM gradings WHERE submission_id = s.id ORDER BY queued_at DESC LIMIT 1) g ON true
        WHERE s.id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r) return null;
    const grading = r.g_id ? toGrading(Object.fromEntries(GRADING_COLUMNS.map((c) => [c, r[`g_${c}`]]))) : null;
    return { submission: toSubmission(r), grading };
  }

  async getGrading(id: string): Promise<GradingRow | null> {
    const { rows } = await this.db.query('SELECT * FROM gradings WHERE id = $1', [id]);
    return rows[0] ? toGrading(rows[0]) : null;
  }

  async latestGrading(submissionId: string): Promise<GradingRow | null> {
    const { rows } = await this.db.query('SELECT * FROM gradings WHERE submission_id = $1 ORDER BY queued_at DESC LIMIT 1', [submissionId]);
    return rows[0] ? toGrading(rows[0]) : null;
  }

  /**
   * What a worker needs to run a grading, in one read: the grading, its submission's assessment and
   * archive, the rubric version it is pinned to (a regrade's re-run) and that regrade.
   */
  async gradingToRun(id: string): Promise<GradingToRun | null> {
    const { rows } = await this.db.query(
      `SELECT g.*, s.assessment_id, s.archive_sha256,
              (SELECT regrade_id FROM regrade_items i WHERE i.grading_id = g.id LIMIT 1) AS regrade_id
         FROM gradings g JOIN submissions s ON s.id = g.submission_id WHERE g.id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r) return null;
    return { grading: toGrading(r), assessmentId: r.assessment_id, archiveSha256: r.archive_sha256, rubricVersion: r.rubric_version ?? null, regradeId: r.regrade_id ?? null };
  }

  /** Marks a grading as started by this worker; returns null if it already finished. */
  async markStarted(id: string, workerHost: string): Promise<GradingRow | null> {
    const { started } = GRADING_STATE;
    const { rows } = await this.db.query(
      `UPDATE gradings SET status = $3, phase = $4, started_at = now(), heartbeat_at = now(),
              worker_host = $2, attempts = attempts + 1
       WHERE id = $1 AND status IN ($5, $3) RETURNING *`,
      [id, workerHost, started.status, started.phase, GRADING_STATE.queued.status],
    );
    return rows[0] ? toGrading(rows[0]) : null;
  }

  async setPhase(id: string, phase: GraderPhase): Promise<void> {
    await this.db.query(`UPDATE gradings SET phase = $2, heartbeat_at = now() WHERE id = $1 AND status = $3`, [id, phase, GRADING_STATE.started.status]);
  }

  async heartbeat(id: string): Promise<void> {
    await this.db.query(`UPDATE gradings SET heartbeat_at = now() WHERE id = $1 AND status = $2`, [id, GRADING_STATE.started.status]);
  }

  async markCompleted(id: string, client: Queryable = this.db): Promise<void> {
    const { completed } = GRADING_STATE;
    await client.query(`UPDATE gradings SET status = $2, phase = $3, finished_at = now(), last_error = NULL WHERE id = $1`, [id, completed.status, completed.phase]);
  }

  /**
   * Records a failed attempt; `final` when no retry is left. Returns the grading as written, with
   * what a grading-finished event needs, or null when it had completed meanwhile.
   */
  async markAttemptFailed(id: string, error: string, final: boolean): Promise<FailedGrading | null> {
    const to = final ? GRADING_STATE.failed : GRADING_STATE.retrying;
    const { rows } = await this.db.query(
      `UPDATE gradings g SET status = $3, phase = $4, last_error = $2${final ? ', finished_at = now()' : ''}
        WHERE g.id = $1 AND g.status <> $5
        RETURNING g.*, (SELECT assessment_id FROM submissions s WHERE s.id = g.submission_id) AS assessment_id,
                  (SELECT regrade_id FROM regrade_items i WHERE i.grading_id = g.id LIMIT 1) AS regrade_id`,
      [id, error.slice(0, 4000), to.status, to.phase, GRADING_STATE.completed.status],
    );
    const r = rows[0];
    return r ? { grading: toGrading(r), assessmentId: r.assessment_id, regradeId: r.regrade_id ?? null } : null;
  }

  /** Running gradings whose worker stopped sending heartbeats. */
  async stalled(olderThanMs: number): Promise<GradingRow[]> {
    const { rows } = await this.db.query(`SELECT * FROM gradings WHERE status = $2 AND heartbeat_at < now() - ($1 || ' milliseconds')::interval`, [
      String(olderThanMs),
      GRADING_STATE.started.status,
    ]);
    return rows.map(toGrading);
  }

  /** Gradings accepted but, after `olderThanS` seconds, still not on the queue as far as Postgres knows. */
  async queuedSince(olderThanS: number): Promise<{ id: string }[]> {
    const { rows } = await this.db.query<{ id: string }>(`SELECT id FROM gradings WHERE status = $1 AND queued_at < now() - ($2 || ' seconds')::interval`, [
      GRADING_STATE.queued.status,
      String(olderThanS),
    ]);
    return rows;
  }

  async listByAssessment(assessmentId: string, limit = 500): Promise<(SubmissionRow & { grading: GradingRow | null })[]> {
    const { rows } = await this.db.query(
      `SELECT s.*, row_to_json(g) AS grading FROM submissions s
       LEFT JOIN LATERAL (SELECT * FROM gradings WHERE submission_id = s.id ORDER BY queued_at DESC LIMIT 1) g ON true
       WHERE s.assessment_id = $1 ORDER BY s.created_at DESC LIMIT $2`,
      [assessmentId, limit],
    );
    return rows.map((r) => ({ ...toSubmission(r), grading: r.grading ? toGradingJson(r.grading) : null }));
  }
}

function toGradingJson(g: Record<string, unknown>): GradingRow {
  const d = (k: string) => (g[k] ? new Date(g[k] as string) : null);
  return toGrading({ ...g, queued_at: d('queued_at'), started_at: d('started_at'), finished_at: d('finished_at'), heartbeat_at: d('heartbeat_at') });
}
