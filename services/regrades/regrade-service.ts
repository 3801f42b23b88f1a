import type { Logger } from 'pino';
import type { AssessmentRegistry } from '../assessments/assessment-registry.ts';
import type { DatasetStore } from '../assessments/dataset-store.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import type { GradingQueue } from '../grading/grading-queue.ts';
import type { RubricRepository } from '../rubrics/rubric-repository.ts';
import type { SubmissionRepository } from '../submissions/submission-repository.ts';
import type { RegradeQueue } from './regrade-queue.ts';
import type { RegradeRepository } from './regrade-repository.ts';
import { withTransaction } from '../db/pool.ts';
import { canSeeAssessment, type Principal } from '../auth/api-keys.ts';
import { DomainError, NotFoundError, QueueFullError } from '../errors.ts';
import { HARNESS_VERSION } from '../grading/harness-output.ts';
import { reportScores } from '../grading/scoring.ts';
import { orderDiff, summarizeDiff } from './regrade-diff.ts';
import type { RegradeRow } from './regrade-repository.ts';
import type { RegradeView, RegradeWithDiff, StartRegrade } from './regrade-schema.ts';

export interface RegradeServiceDeps {
  config: Pick<Config, 'REGRADE_PAGE_SIZE'>;
  logger: Logger;
  db: Db;
  assessments: AssessmentRegistry;
  datasets: DatasetStore;
  queue: GradingQueue;
  regradeQueue: RegradeQueue;
  regrades: RegradeRepository;
  rubrics: RubricRepository;
  submissions: SubmissionRepository;
}

export interface RegradePublisher {
  publishRegrade(regrade: RegradeRow, summary: { total: number; done: number; failed: number; skipped: number; flips: number }): Promise<number>;
}

/**
 * Regrades: start one (API), run it (the regrade job), follow it (API and grading hooks).
 * Submissions whose stored measurements are current are rescored in pages without a container;
 * the others get a regrade grading in the sandbox, pinned to the regrade's rubric version.
 */
export class RegradeService {
  constructor(
    private readonly ctx: RegradeServiceDeps,
    /** Who hears of a completed regrade (the webhooks): passed in, so regrades do not import them. */
    private readonly publisher: RegradePublisher,
  ) {}

  async start(p: Principal, assessmentId: string, input: StartRegrade, idempotencyKey: string | null): Promise<{ regrade: RegradeView; created: boolean }> {
    const { ctx } = this;
    if (!ctx.assessments.has(assessmentId) || !canSeeAssessment(p, assessmentId)) throw new NotFoundError(`assessment "${assessmentId}"`);
    await ctx.rubrics.get(assessmentId, input.rubricVersion).catch((err) => {
      if (!(err instanceof NotFoundError)) throw err;
      throw new DomainError('invalid_input', 'unknown_rubric_version', `assessment "${assessmentId}" has no rubric version ${input.rubricVersion}`, { path: 'rubricVersion' });
    });
    const ids = input.submissionIds ? [...new Set(input.submissionIds)] : null;
    if (ids) {
      const foreign = await ctx.regrades.foreignSubmissions(assessmentId, ids);
      if (foreign.length)
        throw new DomainError('invalid_input', 'unknown_submissions', `not submissions of "${assessmentId}": ${foreign.slice(0, 10).join(', ')}${foreign.length > 10 ? ', ...' : ''}`, {
          path: 'submissionIds',
          submissionIds: foreign,
        });
    }
    const { regrade, created } = await ctx.regrades.create({
      assessmentId,
      rubricVersion: input.rubricVersion,
      dryRun: input.dryRun,
      submissionIds: ids,
      requestedBy: p.name,
      idempotencyKey,
    });
    if (!created && (regrade.assessmentId !== assessmentId || regrade.rubricVersion !== input.rubricVersion || regrade.dryRun !== input.dryRun))
      throw new DomainError('conflict', 'idempotency_conflict', 'this Idempotency-Key was used for a different regrade');
    // A regrade recorded but not queued (Redis down) would wait forever: fail it and say so.
    if (created)
      await ctx.regradeQueue.enqueue(regrade.id).catch(async (err) => {
        await ctx.regrades.markFailed(regrade.id, `could not be queued: ${(err as Error).message}`);
        throw new QueueFullError(10, 'the regrade queue is unreachable; retry later');
      });
    return { regrade: await this.view(regrade), created };
  }

  async get(p: Principal, id: string, page: { offset: number; limit: number }): Promise<RegradeWithDiff> {
    let regrade = await this.ctx.regrades.get(id);
    if (!regrade || !canSeeAssessment(p, regrade.assessmentId)) throw new NotFoundError('regrade');
    // Sandbox re-runs finish on their own; fold them in even if a hook was missed.
    if (regrade.status === 'running' && regrade.dispatchedAt) regrade = (await this.refresh(id)) ?? regrade;
    const base = await this.view(regrade);
    if (regrade.status !== 'completed' && regrade.status !== 'failed') return { ...base, diff: null };
    const rows = orderDiff(await this.ctx.regrades.diffRows(regrade));
    return { ...base, diff: { summary: summarizeDiff(rows), offset: page.offset, limit: page.limit, rows: rows.slice(page.offset, page.offset + page.limit) } };
  }

  async list(p: Principal, assessmentId: string): Promise<RegradeView[]> {
    if (!this.ctx.assessments.has(assessmentId) || !canSeeAssessment(p, assessmentId)) throw new NotFoundError(`assessment "${assessmentId}"`);
    return Promise.all((await this.ctx.regrades.listByAssessment(assessmentId)).map((r) => this.view(r)));
  }

  private async view(r: RegradeRow): Promise<RegradeView> {
    const counts = await this.ctx.regrades.counts(r.id);
    return {
      id: r.id,
      assessmentId: r.assessmentId,
      rubricVersion: r.rubricVersion,
      dryRun: r.dryRun,
      status: r.status,
      path: r.path,
      requestedBy: r.requestedBy,
      createdAt: r.createdAt,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      rescoreMs: r.rescoreMs,
      error: r.lastError,
      done: counts.done,
      failed: counts.failed,
      total: counts.total,
      counts,
      statusUrl: `/v1/regrades/${r.id}`,
    };
  }

  /** The regrade job: plan, rescore in pages, dispatch sandbox re-runs. Safe to run again. */
  async process(regradeId: string): Promise<void> {
    const { ctx } = this;
    let regrade = await ctx.regrades.get(regradeId);
    if (!regrade) throw new NotFoundError(`regrade ${regradeId}`);
    if (regrade.status === 'completed' || regrade.status === 'failed') return;
    const log = ctx.logger.child({ regradeId, assessmentId: regrade.assessmentId, rubricVersion: regrade.rubricVersion });
    await ctx.regrades.markRunning(regradeId);
    const { rubric } = await ctx.rubrics.get(regrade.assessmentId, regrade.rubricVersion);
    const assessment = ctx.assessments.get(regrade.assessmentId);
    // What the platform measures with today: stored measurements taken otherwise are stale.
    const current = {
      harnessVersion: HARNESS_VERSION,
      datasetVersion: assessment.manifest.datasetVersion,
      datasetSha256: (await ctx.datasets.get(assessment)).sha256,
      checks: Object.keys(rubric.checks).sort(),
    };
    if (!regrade.plannedAt) {
      await ctx.regrades.plan(regrade);
      regrade = (await ctx.regrades.get(regradeId))!;
    }

    // Rescore path: a page is one read and one write, whatever its size.
    const started = performance.now();
    const withManual = rubric.manual.weight > 0 && rubric.manual.items.length > 0;
    let after = '00000000-0000-0000-0000-000000000000';
    let rescored = 0;
    const spent = { readWaitMs: 0, scoreMs: 0, writeWaitMs: 0 };
    const lap = (k: keyof typeof spent, since: number) => (spent[k] += performance.now() - since);
    // Pipelined: while this page is scored the next one is being read and the last two written
    // (each page is its own transaction on its own submissions; the database uses both cores).
    const writing: Promise<number>[] = [];
    const readAfter = (id: string) => {
      const p = ctx.regrades.nextRescorePage(regradeId, current, id, ctx.config.REGRADE_PAGE_SIZE);
      p.catch(() => {}); // awaited on the next turn
      return p;
    };
    let reading = readAfter(after);
    for (;;) {
      let t = performance.now();
      const read = await reading;
      lap('readWaitMs', t);
      if (read.length === 0) break;
      after = read[read.length - 1]!.submissionId;
      reading = readAfter(after);
      const stale = read.filter((r) => r.stale !== null);
      await ctx.regrades.sendToSandbox(
        regradeId,
        stale.map((r) => ({ submissionId: r.submissionId, reason: r.stale! })),
      );
      const page = stale.length ? read.filter((r) => r.stale === null) : read;
      t = performance.now();
      const manual = withManual ? await ctx.regrades.manualScores(page.map((p) => p.submissionId)) : new Map();
      const patched = page.map((p) => ({
        submissionId: p.submissionId,
        oldReportId: p.oldReportId,
        patch: reportScores(p.measurements, rubric, manual.get(p.submissionId) ?? [], { hadPredictions: p.hadPredictions }),
      }));
      lap('scoreMs', t);
      t = performance.now();
      if (page.length === 0) continue;
      if (writing.length >= 2) rescored += await writing.shift()!;
      lap('writeWaitMs', t);
      const write = regrade.dryRun
        ? ctx.regrades.writeDryRunPage(
            regradeId,
            patched.map((p) => ({ submissionId: p.submissionId, score: p.patch.score, passed: p.patch.passed })),
          )
        : ctx.regrades.writeRescoredPage(regrade, rubric.id, patched);
      write.catch(() => {}); // awaited later
      writing.push(write);
    }
    const last = performance.now();
    for (const w of writing.splice(0)) rescored += await w;
    lap('writeWaitMs', last);
    if (!regrade.dryRun) await ctx.regrades.repairRescored(regradeId);
    const ms = performance.now() - started;
    await ctx.regrades.setRescoreMs(regradeId, ms);
    await ctx.regrades.settlePath(regradeId);
    log.info({ rescored, ms: Math.round(ms), ...Object.fromEntries(Object.entries(spent).map(([k, v]) => [k, Math.round(v)])) }, 'rescored from stored measurements');

    // Sandbox path: a regrade grading per submission, scored with this rubric version.
    if (regrade.dryRun) await ctx.regrades.skipPendingSandbox(regradeId, 'dry run: this submission needs a sandbox re-run, which a dry run does not start');
    else {
      const pending = await ctx.regrades.pendingSandboxItems(regradeId);
      for (const item of pending) {
        const gradingId =
          item.gradingId ??
          (await withTransaction(ctx.db, async (c) => {
            const { grading } = await ctx.submissions.createGrading(item.submissionId, `regrade:${regradeId}:${item.submissionId}`, 'regrade', c);
            await ctx.regrades.attachGrading(regrade!, item.submissionId, grading.id, c);
            return grading.id;
          }));
        await ctx.queue.enqueue(gradingId, { assessmentId: regrade.assessmentId, reason: 'regrade' });
      }
      if (pending.length) log.info({ gradings: pending.length }, 'sandbox re-runs queued');
    }
    await ctx.regrades.markDispatched(regradeId);
    await this.refresh(regradeId);
  }

  /** Folds finished re-runs in; when this completes the regrade, publishes it (unless a dry run). */
  async refresh(regradeId: string): Promise<RegradeRow | null> {
    const completed = await this.ctx.regrades.refresh(regradeId);
    if (!completed) return null;
    this.ctx.logger.info({ regradeId, path: completed.path }, 'regrade completed');
    if (!completed.dryRun) {
      const [counts, rows] = await Promise.all([this.ctx.regrades.counts(regradeId), this.ctx.regrades.diffRows(completed)]);
      await this.publisher
        .publishRegrade(completed, { total: counts.total, done: counts.done, failed: counts.failed, skipped: counts.skipped, flips: summarizeDiff(rows).flips })
        // The regrade itself is complete; deliveries recorded but not queued are re-queued by the webhook sweep.
        .catch((err) => this.ctx.logger.error({ regradeId, err: (err as Error).message }, 'publishing the regrade webhooks failed'));
    }
    return completed;
  }

  /** Subscribed to GradingFinished: a sandbox re-run of a regrade finished (report written or failed for good). */
  async onGradingFinished(event: { regradeId: string | null }): Promise<void> {
    if (event.regradeId) await this.refresh(event.regradeId);
  }
}
