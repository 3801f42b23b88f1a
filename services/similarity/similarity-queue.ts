import type { ConnectionOptions } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { afterGradingRetry, defineJob, JobQueue } from '../jobs/job-queue.ts';

export const SIMILARITY_QUEUE = 'similarity';

const similarityJobSchema = z.object({ submissionId: z.string().uuid(), gradingId: z.string().uuid() });

/** One similarity run per grading (a regrade's sandbox run compares again); retried with backoff. */
export const similarityJob = defineJob({
  queue: SIMILARITY_QUEUE,
  name: 'compare',
  label: 'similarity run',
  schema: similarityJobSchema,
  jobId: (j) => `similarity-${j.gradingId}`,
});

export class SimilarityQueue extends JobQueue<typeof similarityJobSchema> {
  constructor(connection: ConnectionOptions, config: Pick<Config, 'QUEUE_PREFIX' | 'WEBHOOK_ATTEMPTS' | 'WEBHOOK_BACKOFF_MS'>) {
    // The same retry policy as webhook deliveries: both are after-grading work that must not be lost.
    super(similarityJob, connection, { prefix: config.QUEUE_PREFIX, jobOptions: afterGradingRetry(config) });
  }
}
