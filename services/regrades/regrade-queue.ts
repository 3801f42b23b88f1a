import type { ConnectionOptions } from 'bullmq';
import type { Config } from '../config.ts';
import { defineJob, JobQueue } from '../jobs/job-queue.ts';
import { regradeJobSchema } from './regrade-schema.ts';

export const REGRADE_QUEUE = 'regrade';

/** Regrade jobs: one per regrade, its id as the job id, so enqueueing twice runs it once. */
export const regradeJob = defineJob({ queue: REGRADE_QUEUE, name: 'regrade', label: 'regrade', schema: regradeJobSchema, jobId: (j) => j.regradeId });

export class RegradeQueue extends JobQueue<typeof regradeJobSchema> {
  constructor(connection: ConnectionOptions, config: Config) {
    super(regradeJob, connection, {
      prefix: config.QUEUE_PREFIX,
      addTimeoutMs: 5_000,
      jobOptions: {
        attempts: 3,
        backoff: { type: 'exponential', delay: 5_000 },
        removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    });
  }

  enqueue(regradeId: string): Promise<void> {
    return this.add({ regradeId });
  }
}
