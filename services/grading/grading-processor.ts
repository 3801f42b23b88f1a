import os from 'node:os';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { BlobStore } from '../storage/blob-store.ts';
import { BlobCorruptError } from '../storage/blob-corrupt-error.ts';
import { pinRunnerImage } from './runner-image-pin.ts';
import type { ReportRepository } from '../reports/report-repository.ts';
import type { RubricRepository } from '../rubrics/rubric-repository.ts';
import type { FailedGrading, SubmissionRepository } from '../submissions/submission-repository.ts';
import type { Grader } from './grader.ts';
import { withTransaction, type Db } from '../db/pool.ts';
import type { GradingJob } from './grading-queue.ts';
import type { GradingFinished } from './grading-events.ts';
import { GRADING_STATE } from '../submissions/grading-states.ts';

export const WORKER_HOST = `${os.hostname()}/${process.pid}`;

export interface GradingProcessorDeps {
  logger: Logger;
  db: Db;
  blobs: BlobStore;
  grader: Grader;
  submissions: SubmissionRepository;
  reports: ReportRepository;
  rubrics: RubricRepository;
}

/**
 * The processor for one grading job. Idempotent: a grading that already has its report is not
 * graded again, and the report insert is guarded by a unique index, so retries after a crash yield
 * exactly one report, and GradingFinished is published once, by the attempt that wrote it.
 */
export function createGradingProcessor(ctx: GradingProcessorDeps, publish: (event: GradingFinished) => Promise<void>) {
  return async ({ gradingId }: GradingJob, job: Pick<Job, 'id' | 'attemptsMade'>, signal?: AbortSignal): Promise<{ reportId: string | null }> => {
    const log = ctx.logger.child({ gradingId, jobId: job.id, attempt: job.attemptsMade + 1 });

    const run = await ctx.submissions.gradingToRun(gradingId);
    if (!run) throw new UnrecoverableError(`grading ${gradingId} does not exist`);
    const { grading, assessmentId, archiveSha256 } = run;
    if (grading.status === GRADING_STATE.completed.status || (await ctx.reports.countForGrading(gradingId)) > 0) {
      await ctx.submissions.markCompleted(gradingId);
      log.info('grading already has its report; nothing to do');
      return { reportId: null };
    }
    const started = await ctx.submissions.markStarted(gradingId, WORKER_HOST);
    if (!started) return { reportId: null };
    // A shared store fetches the archive to this host here, verified; damaged bytes stay damaged on retry.
    const present = await ctx.blobs.exists(archiveSha256).catch((err: unknown) => {
      throw err instanceof BlobCorruptError ? new UnrecoverableError(err.message) : err;
    });
    if (!present) throw new UnrecoverableError(`the stored archive ${archiveSha256} is missing from storage`);

    const beat = setInterval(() => void ctx.submissions.heartbeat(gradingId).catch(() => {}), 5_000);
    try {
      log.info({ submissionId: grading.submissionId }, 'grading started');
      const rubric = await ctx.rubrics.forGrading(assessmentId, run.rubricVersion);
      const doc = await ctx.grader.grade({
        gradingId,
        submissionId: grading.submissionId,
        assessmentId,
        archivePath: ctx.blobs.pathOf(archiveSha256),
        archiveSha256,
        rubric: rubric.rubric,
        rubricVersion: rubric.version,
        signal,
        onPhase: (phase) => ctx.submissions.setPhase(gradingId, phase),
        onImage: (digest) => pinRunnerImage(ctx.db, gradingId, digest),
      });
      const { id, inserted } = await withTransaction(ctx.db, async (c) => {
        const r = await ctx.reports.insert(doc, c);
        await ctx.submissions.markCompleted(gradingId, c);
        return r;
      });
      log.info({ score: doc.score, passed: doc.passed, inserted }, 'grading finished');
      if (inserted)
        await publish({
          status: 'completed',
          gradingId,
          submissionId: grading.submissionId,
          assessmentId,
          reason: grading.reason,
          regradeId: run.regradeId,
          finishedAt: new Date().toISOString(),
          reportId: id,
          score: doc.score,
          passed: doc.passed,
          rubricVersion: rubric.version,
        });
      return { reportId: inserted ? id : null };
    } finally {
      clearInterval(beat);
    }
  };
}

/** The event for a grading that failed for good, from the row its last failed attempt wrote. */
export function gradingFailedEvent({ grading, assessmentId, regradeId }: FailedGrading): GradingFinished {
  return {
    status: 'failed',
    gradingId: grading.id,
    submissionId: grading.submissionId,
    assessmentId,
    reason: grading.reason,
    regradeId,
    finishedAt: grading.finishedAt ?? new Date().toISOString(),
    attempts: grading.attempts,
    error: grading.lastError,
  };
}
