import crypto from 'node:crypto';
import { withTransaction, type Db, type Queryable } from '../db/pool.ts';
import type { CheckId, Measurement } from '../checks/check-catalog.ts';
import type { ManualScore, ReportScores } from '../grading/scoring.ts';
import { flipOf, type DiffRow } from './regrade-diff.ts';
import type { REGRADE_STATUSES, OVERALL_PATHS } from './regrade-schema.ts';

export interface RegradeRow {
  id: string;
  assessmentId: string;
  rubricVersion: number;
  dryRun: boolean;
  submissionIds: string[] | null;
  status: (typeof REGRADE_STATUSES)[number];
  path: (typeof OVERALL_PATHS)[number] | null;
  requestedBy: string;
  createdAt: string;
  startedAt: string | null;
  plannedAt: string | null;
  dispatchedAt: string | null;
  finishedAt: string | null;
  rescoreMs: number | null;
  lastError: string | null;
}

export interface RegradeCounts {
  total: number;
  done: number;
  failed: number;
  skipped: number;
  pending: number;
  rescored: number;
  rerun: number;
}

/** What the current platform would measure with: a stored report measured otherwise is stale. */
export interface CurrentMeasuring {
  harnessVersion: string;
  datasetVersion: string;
  datasetSha256: string;
  /** Check ids the target rubric scores: all must be in the stored measurements. */
  checks: string[];
}

export interface RescoreInput {
  submissionId: string;
  oldReportId: string;
  measurements: Partial<Record<CheckId, Measurement>>;
  hadPredictions: boolean;
  /** Why these measurements cannot be rescored; null when they can. */
  stale: string | null;
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : null);

const toRegrade = (r: Record<string, unknown>): RegradeRow => ({
  id: r.id as string,
  assessmentId: r.assessment_id as string,
  rubricVersion: r.rubric_version as number,
  dryRun: r.dry_run as boolean,
  submissionIds: (r.submission_ids as string[]) ?? null,
  status: r.status as RegradeRow['status'],
  path: (r.path as RegradeRow['path']) ?? null,
  requestedBy: r.requested_by as string,
  createdAt: iso(r.created_at)!,
  startedAt: iso(r.started_at),
  plannedAt: iso(r.planned_at),
  dispatchedAt: iso(r.dispatched_at),
  finishedAt: iso(r.finished_at),
  rescoreMs: (r.rescore_ms as number) ?? null,
  lastError: (r.last_error as string) ?? null,
});

const round2 = (x: number) => Math.round(x * 100) / 100;
const RESCORED = 'same harness and dataset: rescored from stored measurements';

/** Regrades and their items. Every bulk step is one statement over a page, never a row at a time. */
export class RegradeRepository {
  private lz4: Promise<boolean> | null = null;

  constructor(private readonly db: Db) {}

  /** Whether this server can compress with lz4 (a build option of Postgres). */
  private hasLz4(): Promise<boolean> {
    this.lz4 ??= this.db
      .query(`SELECT 'lz4' = ANY(enumvals) AS ok FROM pg_settings WHERE name = 'default_toast_compression'`)
      .then((r) => r.rows[0]?.ok === true)
      .catch(() => false);
    return this.lz4;
  }

  /** Creates a regrade; with an idempotency key already used, returns that regrade instead. */
  async create(input: {
    assessmentId: string;
    rubricVersion: number;
    dryRun: boolean;
    submissionIds: string[] | null;
    requestedBy: string;
    idempotencyKey: string | null;
  }): Promise<{ regrade: RegradeRow; created: boolean }> {
    const { rows } = await this.db.query(
      `INSERT INTO regrades (id, assessment_id, rubric_version, dry_run, submission_ids, status, requested_by, idempotency_key)
       VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7) ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
      [crypto.randomUUID(), input.assessmentId, input.rubricVersion, input.dryRun, input.submissionIds, input.requestedBy, input.idempotencyKey],
    );
    if (rows[0]) return { regrade: toRegrade(rows[0]), created: true };
    const existing = await this.db.query('SELECT * FROM regrades WHERE idempotency_key = $1', [input.idempotencyKey]);
    return { regrade: toRegrade(existing.rows[0]), created: false };
  }

  async get(id: string, client: Queryable = this.db): Promise<RegradeRow | null> {
    const { rows } = await client.query('SELECT * FROM regrades WHERE id = $1', [id]);
    return rows[0] ? toRegrade(rows[0]) : null;
  }

  async listByAssessment(assessmentId: string, limit = 100): Promise<RegradeRow[]> {
    const { rows } = await this.db.query('SELECT * FROM regrades WHERE assessment_id = $1 ORDER BY created_at DESC LIMIT $2', [assessmentId, limit]);
    return rows.map(toRegrade);
  }

  /** Submission ids among `ids` that are not submissions of this assessment. */
  async foreignSubmissions(assessmentId: string, ids: string[]): Promise<string[]> {
    const { rows } = await this.db.query(`SELECT u.sid FROM unnest($2::uuid[]) AS u(sid) WHERE NOT EXISTS (SELECT 1 FROM submissions s WHERE s.id = u.sid AND s.assessment_id = $1)`, [
      assessmentId,
      ids,
    ]);
    return rows.map((r) => r.sid);
  }

  async markRunning(id: string): Promise<void> {
    await this.db.query(`UPDATE regrades SET status = 'running', started_at = COALESCE(started_at, now()) WHERE id = $1 AND status IN ('queued', 'running')`, [id]);
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.db.query(`UPDATE regrades SET status = 'failed', finished_at = now(), last_error = $2 WHERE id = $1 AND status <> 'completed'`, [id, error.slice(0, 4000)]);
  }

  /**
   * Lists the submissions to regrade in one statement, with their latest report (the "before"
   * of the diff). Without a report a submission needs the sandbox; with one, whether its stored
   * measurements can be rescored is decided while its page is read (nextRescorePage), so no
   * document is decompressed twice. Idempotent: a retried job plans once.
   */
  async plan(regrade: RegradeRow): Promise<void> {
    await withTransaction(this.db, async (c) => {
      const { rows } = await c.query('SELECT planned_at FROM regrades WHERE id = $1 FOR UPDATE', [regrade.id]);
      if (rows[0]?.planned_at) return;
      await c.query(
        `INSERT INTO regrade_items (regrade_id, submission_id, path, path_reason, status, old_report_id, old_rubric_version, old_score, old_passed)
         SELECT $1, s.id, CASE WHEN r.id IS NULL THEN 'sandbox' ELSE 'rescore' END,
                CASE WHEN r.id IS NOT NULL THEN 'stored measurements not checked yet'
                     WHEN g.status IN ('queued', 'running') THEN 'no report yet: its first grading is still ' || g.status
                     ELSE 'no stored report to rescore' END,
                CASE WHEN r.id IS NULL AND g.status IN ('queued', 'running') THEN 'skipped' ELSE 'pending' END,
                r.id, r.rubric_version, r.score, r.passed
         FROM submissions s
         LEFT JOIN LATERAL (SELECT id, rubric_version, score, passed FROM reports WHERE submission_id = s.id ORDER BY created_at DESC, id LIMIT 1) r ON true
         LEFT JOIN LATERAL (SELECT status FROM gradings WHERE submission_id = s.id ORDER BY queued_at DESC LIMIT 1) g ON true
         WHERE s.assessment_id = $2 AND ($3::uuid[] IS NULL OR s.id = ANY($3::uuid[]))
         ON CONFLICT DO NOTHING`,
        [regrade.id, regrade.assessmentId, regrade.submissionIds],
      );
      await c.query('UPDATE regrades SET planned_at = now() WHERE id = $1', [regrade.id]);
    });
  }

  /** The overall path, once every item's path is decided. */
  async settlePath(regradeId: string): Promise<void> {
    await this.db.query(
      `UPDATE regrades SET path = (
         SELECT CASE WHEN count(*) FILTER (WHERE status <> 'skipped') = 0 THEN 'none'
                     WHEN bool_and(path = 'rescore') FILTER (WHERE status <> 'skipped') THEN 'rescore'
                     WHEN bool_and(path = 'sandbox') FILTER (WHERE status <> 'skipped') THEN 'sandbox'
                     ELSE 'mixed' END
         FROM regrade_items WHERE regrade_id = $1)
       WHERE id = $1`,
      [regradeId],
    );
  }

  /**
   * The next page of submissions to rescore, after `afterSubmissionId` (keyset pagination).
   * `stale` says why a stored report cannot be rescored: measured by another harness, on
   * another dataset, or without a check the rubric scores. Those go to the sandbox instead.
   */
  async nextRescorePage(regradeId: string, current: CurrentMeasuring, afterSubmissionId: string, limit: number): Promise<RescoreInput[]> {
    const { rows } = await this.db.query(
      `SELECT i.submission_id, i.old_report_id, d->'measurements' AS m,
              COALESCE(d->'metrics'->'holdout' <> 'null'::jsonb, false) AS had_predictions,
              CASE WHEN d->'provenance'->>'harnessVersion' IS DISTINCT FROM $4
                     THEN format('measured by harness %s; the current harness is %s', d->'provenance'->>'harnessVersion', $4)
                   WHEN d->'provenance'->>'datasetVersion' IS DISTINCT FROM $5 OR d->'provenance'->>'datasetSha256' IS DISTINCT FROM $6
                     THEN format('measured on dataset %s (%s); the current dataset is %s (%s)',
                                 d->'provenance'->>'datasetVersion', left(d->'provenance'->>'datasetSha256', 12), $5, left($6, 12))
                   WHEN NOT (d->'measurements' ?& $7::text[])
                     THEN 'the stored measurements lack checks this rubric scores: '
                          || array_to_string(ARRAY(SELECT c FROM unnest($7::text[]) AS c WHERE NOT (d->'measurements' ? c)), ', ')
              END AS stale
       FROM regrade_items i
       -- One decompression per report: the document minus its bulky parts, then read from memory.
       CROSS JOIN LATERAL (SELECT document - '{logs,checks,categories,resources,sandbox,lint,notes,verdict}'::text[] AS d
                           FROM reports WHERE id = i.old_report_id OFFSET 0) r
       WHERE i.regrade_id = $1 AND i.path = 'rescore' AND i.status = 'pending' AND i.submission_id > $2
       ORDER BY i.submission_id LIMIT $3`,
      [regradeId, afterSubmissionId, limit, current.harnessVersion, current.datasetVersion, current.datasetSha256, current.checks],
    );
    return rows.map((r) => ({
      submissionId: r.submission_id,
      oldReportId: r.old_report_id,
      measurements: r.m,
      hadPredictions: r.had_predictions,
      stale: r.stale,
    }));
  }

  /** Stored reports found stale: these submissions are graded again in the sandbox. */
  async sendToSandbox(regradeId: string, items: { submissionId: string; reason: string }[]): Promise<void> {
    if (items.length === 0) return;
    await this.db.query(
      `UPDATE regrade_items i SET path = 'sandbox', path_reason = x.reason
       FROM jsonb_to_recordset($2::jsonb) AS x(sid uuid, reason text)
       WHERE i.regrade_id = $1 AND i.submission_id = x.sid AND i.status = 'pending'`,
      [regradeId, JSON.stringify(items.map((i) => ({ sid: i.submissionId, reason: i.reason })))],
    );
  }

  /** Current manual scores (newest per item) of these submissions. */
  async manualScores(submissionIds: string[]): Promise<Map<string, ManualScore[]>> {
    const { rows } = await this.db.query(
      `SELECT DISTINCT ON (submission_id, item_id) submission_id, item_id, points FROM manual_scores
       WHERE submission_id = ANY($1::uuid[]) ORDER BY submission_id, item_id, created_at DESC, id DESC`,
      [submissionIds],
    );
    const out = new Map<string, ManualScore[]>();
    for (const r of rows) {
      const list = out.get(r.submission_id) ?? [];
      list.push({ itemId: r.item_id, points: r.points });
      out.set(r.submission_id, list);
    }
    return out;
  }

  /**
   * Publishes one page of rescored reports and records them on their items, in one statement:
   * each new document is the stored one with the rescored fields and checks and the new rubric
   * in its provenance. Report history grows; nothing is overwritten.
   */
  async writeRescoredPage(regrade: RegradeRow, rubricId: string, page: { submissionId: string; oldReportId: string; patch: ReportScores }[]): Promise<number> {
    const rows = page.map((p) => ({
      id: crypto.randomUUID(),
      sid: p.submissionId,
      old: p.oldReportId,
      score: p.patch.score,
      passed: p.patch.passed,
      fields: p.patch.fields,
      checks: p.patch.checks,
    }));
    const lz4 = await this.hasLz4();
    const res = await withTransaction(this.db, async (c) => {
      // Compressing 20 KB documents is most of the cost of a page; lz4 does it 3x faster than
      // the default pglz (and reads the same way).
      if (lz4) await c.query(`SET LOCAL default_toast_compression = 'lz4'`);
      // No wait for the WAL flush per page: a page lost in a crash is lost with its items'
      // update (same transaction), so it is simply still pending when the job is retried, and
      // the regrade's completion (a synchronous commit) flushes every page before it.
      await c.query(`SET LOCAL synchronous_commit = off`);
      return c.query(
        `WITH x AS (
           SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, sid uuid, old uuid, score float8, passed boolean, fields jsonb, checks jsonb)
         ), ins AS (
           INSERT INTO reports (id, submission_id, grading_id, rubric_id, rubric_version, score, passed, document, regrade_id)
           SELECT x.id, x.sid, NULL, $2, $3, x.score, x.passed,
                  r.d || x.fields || jsonb_build_object(
                    'gradingId', NULL,
                    'checks', x.checks,
                    'provenance', (r.d->'provenance') || jsonb_build_object('rubricId', $2::text, 'rubricVersion', $3::int)),
                  $4
           -- "|| '{}'" yields the decompressed document once; every use below reads it from memory.
           FROM x CROSS JOIN LATERAL (SELECT document || '{}'::jsonb AS d FROM reports WHERE id = x.old OFFSET 0) r
           ON CONFLICT (regrade_id, submission_id) WHERE regrade_id IS NOT NULL DO NOTHING
           RETURNING id, submission_id, score, passed
         )
         UPDATE regrade_items i SET status = 'done', path_reason = $5, new_report_id = ins.id, new_score = ins.score, new_passed = ins.passed, finished_at = now()
         FROM ins WHERE i.regrade_id = $4 AND i.submission_id = ins.submission_id`,
        [JSON.stringify(rows), rubricId, regrade.rubricVersion, regrade.id, RESCORED],
      );
    });
    return res.rowCount ?? 0;
  }

  /** Dry run: records what the scores would become, publishes nothing. */
  async writeDryRunPage(regradeId: string, page: { submissionId: string; score: number; passed: boolean }[]): Promise<number> {
    const res = await this.db.query(
      `UPDATE regrade_items i SET status = 'done', path_reason = $3, new_score = x.score, new_passed = x.passed, finished_at = now()
       FROM jsonb_to_recordset($1::jsonb) AS x(sid uuid, score float8, passed boolean)
       WHERE i.regrade_id = $2 AND i.submission_id = x.sid AND i.status = 'pending'`,
      [JSON.stringify(page.map((p) => ({ sid: p.submissionId, score: p.score, passed: p.passed }))), regradeId, RESCORED],
    );
    return res.rowCount ?? 0;
  }

  /** Items whose report a crashed attempt already wrote are done, not pending. */
  async repairRescored(regradeId: string): Promise<void> {
    await this.db.query(
      `UPDATE regrade_items i SET status = 'done', path_reason = $2, new_report_id = r.id, new_score = r.score, new_passed = r.passed, finished_at = now()
       FROM reports r WHERE r.regrade_id = $1 AND r.submission_id = i.submission_id AND i.regrade_id = $1 AND i.status = 'pending'`,
      [regradeId, RESCORED],
    );
  }

  async setRescoreMs(regradeId: string, ms: number): Promise<void> {
    await this.db.query('UPDATE regrades SET rescore_ms = COALESCE(rescore_ms, 0) + $2 WHERE id = $1', [regradeId, Math.round(ms)]);
  }

  async pendingSandboxItems(regradeId: string): Promise<{ submissionId: string; gradingId: string | null }[]> {
    const { rows } = await this.db.query(`SELECT submission_id, grading_id FROM regrade_items WHERE regrade_id = $1 AND path = 'sandbox' AND status = 'pending' ORDER BY submission_id`, [
      regradeId,
    ]);
    return rows.map((r) => ({ submissionId: r.submission_id, gradingId: r.grading_id }));
  }

  /** Pins a sandbox re-run to the regrade's rubric version and ties it to its item. */
  async attachGrading(regrade: RegradeRow, submissionId: string, gradingId: string, client: Queryable): Promise<void> {
    await client.query('UPDATE gradings SET rubric_version = $2 WHERE id = $1', [gradingId, regrade.rubricVersion]);
    await client.query('UPDATE regrade_items SET grading_id = $3 WHERE regrade_id = $1 AND submission_id = $2', [regrade.id, submissionId, gradingId]);
  }

  async skipPendingSandbox(regradeId: string, reason: string): Promise<void> {
    await this.db.query(`UPDATE regrade_items SET status = 'skipped', error = $2, finished_at = now() WHERE regrade_id = $1 AND path = 'sandbox' AND status = 'pending'`, [
      regradeId,
      reason,
    ]);
  }

  async markDispatched(regradeId: string): Promise<void> {
    await this.db.query('UPDATE regrades SET dispatched_at = COALESCE(dispatched_at, now()) WHERE id = $1', [regradeId]);
  }

  /**
   * Folds finished sandbox re-runs into their items, then completes the regrade when nothing is
   * pending. Returns the regrade if this call completed it (exactly one caller does).
   */
  async refresh(regradeId: string): Promise<RegradeRow | null> {
    await this.db.query(
      `UPDATE regrade_items i
       SET status = CASE WHEN g.status = 'completed' AND r.id IS NOT NULL THEN 'done' ELSE 'failed' END,
           new_report_id = r.id, new_score = r.score, new_passed = r.passed, finished_at = now(),
           error = CASE WHEN g.status = 'failed' THEN COALESCE(g.last_error, 'the grading failed') WHEN r.id IS NULL THEN 'the grading finished without a report' END
       FROM gradings g LEFT JOIN reports r ON r.grading_id = g.id
       WHERE i.regrade_id = $1 AND i.status = 'pending' AND i.path = 'sandbox' AND i.grading_id = g.id AND g.status IN ('completed', 'failed')`,
      [regradeId],
    );
    const { rows } = await this.db.query(
      `UPDATE regrades SET status = 'completed', finished_at = now()
       WHERE id = $1 AND status = 'running' AND dispatched_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM regrade_items WHERE regrade_id = $1 AND status = 'pending')
       RETURNING *`,
      [regradeId],
    );
    return rows[0] ? toRegrade(rows[0]) : null;
  }

  async counts(regradeId: string): Promise<RegradeCounts> {
    const { rows } = await this.db.query(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE status = 'done')::int AS done,
              count(*) FILTER (WHERE status = 'failed')::int AS failed,
              count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
              count(*) FILTER (WHERE status = 'pending')::int AS pending,
              count(*) FILTER (WHERE path = 'rescore')::int AS rescored,
              count(*) FILTER (WHERE path = 'sandbox')::int AS rerun
       FROM regrade_items WHERE regrade_id = $1`,
      [regradeId],
    );
    return rows[0];
  }

  /** Every item as a diff row, unordered (orderDiff sorts). */
  async diffRows(regrade: RegradeRow): Promise<DiffRow[]> {
    const { rows } = await this.db.query(`SELECT i.*, s.candidate, s.file_name FROM regrade_items i JOIN submissions s ON s.id = i.submission_id WHERE i.regrade_id = $1`, [regrade.id]);
    return rows.map((r) => {
      const old = r.old_score === null ? null : { reportId: r.old_report_id, rubricVersion: r.old_rubric_version, score: r.old_score, passed: r.old_passed };
      const neu = r.new_score === null ? null : { reportId: r.new_report_id, rubricVersion: regrade.rubricVersion, score: r.new_score, passed: r.new_passed };
      return {
        submissionId: r.submission_id,
        candidate: r.candidate,
        fileName: r.file_name,
        path: r.path,
        pathReason: r.path_reason,
        status: r.status,
        old,
        new: neu,
        flip: flipOf(old?.passed, neu?.passed),
        scoreDelta: old && neu ? round2(neu.score - old.score) : null,
        error: r.error,
      };
    });
  }

  /** Reports this regrade published (rescore path), for webhooks. */
  async publishedReports(regradeId: string): Promise<{ reportId: string; submissionId: string; score: number; passed: boolean; rubricVersion: number }[]> {
    const { rows } = await this.db.query(`SELECT id, submission_id, score, passed, rubric_version FROM reports WHERE regrade_id = $1 ORDER BY submission_id`, [regradeId]);
    return rows.map((r) => ({ reportId: r.id, submissionId: r.submission_id, score: r.score, passed: r.passed, rubricVersion: r.rubric_version }));
  }
}
