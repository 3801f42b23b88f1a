import type { Context } from '../services/context.ts';
import { redisConnection } from '../services/context.ts';
import { startJobWorker } from '../services/jobs/job-queue.ts';
import { similarityJob } from '../services/similarity/similarity-queue.ts';
import { SimilarityRepository } from '../services/similarity/similarity-repository.ts';
import { SimilarityService } from '../services/similarity/similarity-service.ts';

/**
 * Consumes similarity runs (queued after each completed grading). Every attempt is recorded in
 * similarity_runs: done with the number of documents compared, or the error and whether it was the last try.
 */
export function startSimilarityWorker(ctx: Context) {
  const connection = redisConnection(ctx.config.REDIS_URL);
  const similarity = new SimilarityRepository(ctx.db);
  const service = new SimilarityService({ ...ctx, similarity });
  return startJobWorker({
    kind: similarityJob,
    connection,
    prefix: ctx.config.QUEUE_PREFIX,
    logger: ctx.logger,
    concurrency: 1,
    async process({ submissionId }) {
      const outcome = await service.indexSubmission(submissionId);
      await similarity.markRun(submissionId, 'done', { compared: outcome.compared, attempt: true });
      return outcome;
    },
    async onFailed({ submissionId }, err, { final }) {
      await similarity.markRun(submissionId, final ? 'failed' : 'queued', { error: err.message, attempt: true });
    },
    disconnect: () => connection.disconnect(),
  });
}
