import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { AssessmentRegistry } from '../assessments/assessment-registry.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { Db } from '../db/pool.ts';
import type { SubmissionRepository } from './submission-repository.ts';
import { withTransaction } from '../db/pool.ts';
import { readArchiveFiles } from '../archive/archive-reader.ts';
import { checkSolution, isSolutionCandidate, SOLUTION_MAX_BYTES } from '../archive/solution-contract.ts';
import type { SourceParser } from '../archive/python-parser.ts';
import { ArchiveRejectedError, DomainError, NotFoundError } from '../errors.ts';
import type { SubmissionRow, GradingRow } from './submission-repository.ts';

export interface AcceptedSubmission {
  submission: SubmissionRow;
  grading: GradingRow;
  duplicate: boolean;
}

/** The grading queue, as far as accepting a submission needs it (the GradingQueue). */
export interface GradingEnqueue {
  assertCapacity(): Promise<void>;
  enqueue(gradingId: string, ticket: { assessmentId: string; reason: string }): Promise<void>;
}

export interface SubmissionServiceDeps {
  config: Pick<Config, 'UPLOAD_MAX_BYTES' | 'UPLOAD_MAX_ENTRIES' | 'UPLOAD_MAX_UNCOMPRESSED_BYTES' | 'UPLOAD_MAX_RATIO'>;
  logger: Logger;
  db: Db;
  assessments: Pick<AssessmentRegistry, 'has'>;
  blobs: BlobStore;
  queue: GradingEnqueue;
  submissions: SubmissionRepository;
  /** Parses the uploaded solution for the contract check (a warm pool: archive/python-parser.ts). */
  pythonParser: SourceParser;
}

/**
 * Accepting an upload: stream it into content-addressed storage under the size cap, check the
 * archive entry by entry and its solution.py against the contract (archive/solution-contract.ts),
 * record submission and grading in one transaction, queue the grading. A rejected upload leaves
 * nothing behind.
 */
export class SubmissionService {
  constructor(private readonly ctx: SubmissionServiceDeps) {}

  async accept(input: {
    assessmentId: string;
    fileName: string;
    stream: Readable;
    candidate?: string | null;
    inviteId?: string | null;
    idempotencyKey?: string | null;
  }): Promise<AcceptedSubmission> {
    const { ctx } = this;
    const { config } = ctx;
    if (!ctx.assessments.has(input.assessmentId)) throw new DomainError('not_found', 'unknown_assessment', `assessment "${input.assessmentId}" does not exist`);
    if (input.idempotencyKey) {
      const existing = await ctx.submissions.byIdempotencyKey(input.idempotencyKey);
      if (existing) {
        input.stream.resume();
        const grading = (await ctx.submissions.latestGrading(existing.id))!;
        return { submission: existing, grading, duplicate: true };
      }
    }
    await ctx.queue.assertCapacity();
    const blob = await ctx.blobs.put(input.stream, config.UPLOAD_MAX_BYTES);
    let format: 'zip' | 'tar.gz';
    try {
      const { scan, files } = await readArchiveFiles(
        blob.path,
        { maxEntries: config.UPLOAD_MAX_ENTRIES, maxUncompressedBytes: config.UPLOAD_MAX_UNCOMPRESSED_BYTES, maxRatio: config.UPLOAD_MAX_RATIO },
        { maxFileBytes: SOLUTION_MAX_BYTES, want: isSolutionCandidate },
      );
      if (scan.entries.length === 0) throw new ArchiveRejectedError(null, 'the archive holds no files');
      // What the harness could not grade is refused now: not stored, not counted against an invite.
      await checkSolution(scan.entries, files, ctx.pythonParser);
      format = scan.format;
    } catch (err) {
      // Same bytes, same verdict: a blob that fails the scan was never accepted before, unless a
      // limit changed since, so keep it only if a submission still points at it.
      if (!(await ctx.submissions.isArchiveReferenced(blob.sha256))) await ctx.blobs.remove(blob.sha256);
      throw err;
    }
    const { submission, grading, created } = await withTransaction(ctx.db, async (c) => {
      const s = await ctx.submissions.createSubmission(
        {
          assessmentId: input.assessmentId,
          archiveSha256: blob.sha256,
          archiveBytes: blob.bytes,
          archiveFormat: format,
          fileName: input.fileName.slice(0, 255),
          candidate: input.candidate?.slice(0, 200) ?? null,
          inviteId: input.inviteId ?? null,
          idempotencyKey: input.idempotencyKey ?? null,
        },
        c,
      );
      const g = await ctx.submissions.createGrading(s.submission.id, `initial:${s.submission.id}`, 'initial', c);
      return { submission: s.submission, grading: g.grading, created: s.created };
    });
    try {
      await ctx.queue.enqueue(grading.id, { assessmentId: input.assessmentId, reason: grading.reason });
    } catch (err) {
      // Recorded as queued; the recovery sweep enqueues it once Redis answers again.
      ctx.logger.error({ gradingId: grading.id, err: (err as Error).message }, 'enqueue failed; recovery will retry');
    }
    return { submission, grading, duplicate: !created };
  }

  /**
   * Grades a submission again after its latest grading failed for a system reason (all retries
   * spent): a new grading of the stored archive. Only a failed grading can be retried, and only
   * once (the new grading's key is derived from the failed one, so a double click queues one).
   */
  async retry(submission: SubmissionRow): Promise<GradingRow> {
    const { ctx } = this;
    const latest = await ctx.submissions.latestGrading(submission.id);
    if (!latest) throw new NotFoundError('submission');
    if (latest.status !== 'failed') {
      // A double click: the retry of this failed grading already exists and is the latest one.
      if (latest.reason === 'retry' && latest.status !== 'completed') return latest;
      throw new DomainError('conflict', 'not_failed', `only a failed grading can be started again; the latest grading is ${latest.status}`);
    }
    if (!(await ctx.blobs.exists(submission.archiveSha256)))
      throw new DomainError('conflict', 'archive_missing', 'the stored archive of this submission is missing; it cannot be graded again');
    await ctx.queue.assertCapacity();
    const { grading } = await ctx.submissions.createGrading(submission.id, `retry:${latest.id}`, 'retry');
    try {
      await ctx.queue.enqueue(grading.id, { assessmentId: submission.assessmentId, reason: grading.reason });
    } catch (err) {
      ctx.logger.error({ gradingId: grading.id, err: (err as Error).message }, 'enqueue failed; recovery will retry');
    }
    return grading;
  }
}
