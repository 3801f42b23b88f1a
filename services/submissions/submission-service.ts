import type { Readable } from 'node:stream';
import type { Context } from '../context.ts';
import { withTransaction } from '../db/pool.ts';
import { scanArchive } from '../archive/archive-scanner.ts';
import { ArchiveRejectedError, AppError } from '../errors.ts';
import type { SubmissionRow, GradingRow } from './submission-repository.ts';

export interface AcceptedSubmission {
  submission: SubmissionRow;
  grading: GradingRow;
  duplicate: boolean;
}

/**
 * Accepting an upload: stream it into content-addressed storage under the size cap, check the
 * archive entry by entry, record submission and grading in one transaction, queue the grading.
 * A rejected upload leaves nothing behind.
 */
export class SubmissionService {
  constructor(private readonly ctx: Context) {}

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
    if (!ctx.assessments.has(input.assessmentId)) throw new AppError('unknown_assessment', `assessment "${input.assessmentId}" does not exist`, 404);
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
      const scan = await scanArchive(blob.path, {
        maxEntries: config.UPLOAD_MAX_ENTRIES,
        maxUncompressedBytes: config.UPLOAD_MAX_UNCOMPRESSED_BYTES,
        maxRatio: config.UPLOAD_MAX_RATIO,
      });
      if (scan.entries.length === 0) throw new ArchiveRejectedError(null, 'the archive holds no files');
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
      await ctx.queue.enqueue(grading.id);
    } catch (err) {
      // Recorded as queued; the recovery sweep enqueues it once Redis answers again.
      ctx.logger.error({ gradingId: grading.id, err: (err as Error).message }, 'enqueue failed; recovery will retry');
    }
    return { submission, grading, duplicate: !created };
  }
}
