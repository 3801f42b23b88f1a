import os from 'node:os';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { BlobStore } from '../storage/blob-store.ts';
import type { ReportRepository } from '../reports/report-repository.ts';
import type { RubricRepository } from '../rubrics/rubric-repository.ts';
import type { SubmissionRepository } from '../submissions/submission-repository.ts';
import type { Grader } from './grader.ts';
import { withTransaction, type Db } from '../db/pool.ts';
import { gradingJobSchema, type GradingJob } from './grading-queue.ts';

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
 * The BullMQ processor for one grading job. Idempotent: a grading that already has its report is
 * not graded again, and the report insert is guarded by a unique index, so retries after a crash
 * yield exactly one report.
 */
export function createGradingProcessor(ctx: GradingProcessorDeps, hooks: { onReport?: (submissionId: string, reportId: string) => Promise<void> } = {}) {
  return async (job: Job<GradingJob>, _token?: string, signal?: AbortSignal): Promise<{ reportId: string | null }> => {
    const parsed = gradingJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed grading job payload: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const { gradingId } = parsed.data;
    const log = ctx.logger.child({ gradingId, jobId: job.id, attempt: job.attemptsMade + 1 });

    const grading = await ctx.submissions.getGrading(gradingId);
    if (!grading) throw new UnrecoverableError(`grading ${gradingId} does not exist`);
    if (grading.status === 'completed' || (await ctx.reports.countForGrading(gradingId)) > 0) {
      await ctx.submissions.markCompleted(gradingId);
      log.info('grading already has its report; nothing to do');
      return { reportId: null };
    }
    const started = await ctx.submissions.markStarted(gradingId, WORKER_HOST);
    if (!started) return { reportId: null };
    const submission = await ctx.submissions.getSubmission(grading.submissionId);
    if (!submission) throw new UnrecoverableError(`submission ${grading.submissionId} does not exist`);
    if (!(await ctx.blobs.exists(submission.archiveSha256)))
      throw new UnrecoverableError(`the stored archive ${submission.archiveSha256} is missing from storage`);

    const beat = setInterval(() => void ctx.submissions.heartbeat(gradingId).catch(() => {}), 5_000);
    try {
      log.info({ submissionId: submission.id }, 'grading started');
      const rubric = await ctx.rubrics.forGrading(gradingId, submission.assessmentId);
      const doc = await ctx.grader.grade({
        gradingId,
        submissionId: submission.id,
        assessmentId: submission.assessmentId,
        archivePath: ctx.blobs.pathOf(submission.archiveSha256),
        archiveSha256: submission.archiveSha256,
        rubric: rubric.rubric,
        rubricVersion: rubric.version,
        signal,
        onPhase: (phase) => ctx.submissions.setPhase(gradingId, phase),
      });
      const { id, inserted } = await withTransaction(ctx.db, async (c) => {
        const r = await ctx.reports.insert(doc, c);
        await ctx.submissions.markCompleted(gradingId, c);
        return r;
      });
      log.info({ score: doc.score, passed: doc.passed, inserted }, 'grading finished');
      if (inserted) await hooks.onReport?.(submission.id, id).catch((err) => log.warn({ err }, 'report hook failed'));
      return { reportId: inserted ? id : null };
    } finally {
      clearInterval(beat);
    }
  };
}
