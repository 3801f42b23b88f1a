import type { ConnectionOptions } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { QueueFullError } from '../errors.ts';
import { defineJob, JobQueue, withTimeout } from '../jobs/job-queue.ts';

export { withTimeout };

export const GRADING_QUEUE = 'grading';

/** The job catalog entry for gradings: the grading id is the job id, so a second add is a no-op. */
export const gradingJobSchema = z.object({ gradingId: z.string().uuid() }).strict();
export type GradingJob = z.infer<typeof gradingJobSchema>;
export const gradingJob = defineJob({ queue: GRADING_QUEUE, name: 'grade', label: 'grading', schema: gradingJobSchema, jobId: (j) => j.gradingId });

export class GradingQueue extends JobQueue<typeof gradingJobSchema> {
  constructor(
    connection: ConnectionOptions,
    private readonly config: Config,
  ) {
    super(gradingJob, connection, {
      prefix: config.QUEUE_PREFIX,
      addTimeoutMs: 5_000,
      jobOptions: {
        attempts: config.JOB_ATTEMPTS,
        // 5, 10, 20, 40, 80 s: long enough to ride out an engine or database restart.
        backoff: { type: 'exponential', delay: 5_000 },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    });
  }

  /** Jobs not yet finished: the number backpressure is measured on. */
  async depth(): Promise<number> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  /** Throws QueueFullError (→ 503 + Retry-After) when the queue holds more than it may. */
  async assertCapacity(): Promise<void> {
    let depth: number;
    try {
      depth = await withTimeout(this.depth(), 2_000);
    } catch (err) {
      throw new QueueFullError(10, `the queue is unreachable: ${(err as Error).message}`);
    }
    if (depth >= this.config.QUEUE_MAX_DEPTH) throw new QueueFullError(Math.min(300, 5 + Math.ceil(depth / 2)));
  }

  /** Idempotent: the job id is the grading id. */
  enqueue(gradingId: string): Promise<void> {
    return this.add({ gradingId });
  }

  /** 1-based position among waiting jobs, or null when not waiting. */
  async position(gradingId: string): Promise<number | null> {
    const waiting = await this.queue.getWaiting(0, 1000);
    const i = waiting.findIndex((j) => j.id === gradingId);
    return i < 0 ? null : waiting.length - i;
  }
}
