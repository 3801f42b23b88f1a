import type { ConnectionOptions } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { defineJob, JobQueue } from '../jobs/job-queue.ts';

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
    super(similarityJob, connection, {
      prefix: config.QUEUE_PREFIX,
      jobOptions: {
        // The same retry policy as webhook deliveries: both are after-grading work that must not be lost.
        attempts: config.WEBHOOK_ATTEMPTS,
        backoff: { type: 'exponential', delay: config.WEBHOOK_BACKOFF_MS },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    });
  }
}
