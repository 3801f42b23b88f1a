import { Queue, type ConnectionOptions } from 'bullmq';
import type { Config } from '../config.ts';
import { SystemError } from '../errors.ts';
import { withTimeout } from '../grading/grading-queue.ts';
import { regradeJobSchema, type RegradeJob } from './regrade-schema.ts';

export const REGRADE_QUEUE = 'regrade';

/** Regrade jobs: one per regrade, its id as the job id, so enqueueing twice runs it once. */
export class RegradeQueue {
  readonly queue: Queue<RegradeJob>;

  constructor(connection: ConnectionOptions, config: Config) {
    this.queue = new Queue<RegradeJob>(REGRADE_QUEUE, { connection, prefix: config.QUEUE_PREFIX });
  }

  async enqueue(regradeId: string): Promise<void> {
    const data = regradeJobSchema.parse({ regradeId });
    try {
      await withTimeout(
        this.queue.add('regrade', data, {
          jobId: regradeId,
          attempts: 3,
          backoff: { type: 'exponential', delay: 5_000 },
          removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
          removeOnFail: { age: 30 * 24 * 3600 },
        }),
        5_000,
      );
    } catch (err) {
      throw new SystemError(`could not enqueue regrade ${regradeId}: ${(err as Error).message}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
