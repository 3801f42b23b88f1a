import { Queue, type ConnectionOptions } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { QueueFullError, SystemError } from '../errors.ts';

export const GRADING_QUEUE = 'grading';

/** The job catalog entry for gradings: payload schema and retry policy. */
export const gradingJobSchema = z.object({ gradingId: z.string().uuid() }).strict();
export type GradingJob = z.infer<typeof gradingJobSchema>;

export class GradingQueue {
  readonly queue: Queue<GradingJob>;

  constructor(
    connection: ConnectionOptions,
    private readonly config: Config,
  ) {
    this.queue = new Queue<GradingJob>(GRADING_QUEUE, { connection, prefix: config.QUEUE_PREFIX });
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

  /** Idempotent: the job id is the grading id, so a second add of the same grading is a no-op. */
  async enqueue(gradingId: string): Promise<void> {
    const data = gradingJobSchema.parse({ gradingId });
    try {
      await withTimeout(
        this.queue.add('grade', data, {
          jobId: gradingId,
          attempts: this.config.JOB_ATTEMPTS,
          // 5, 10, 20, 40, 80 s: long enough to ride out an engine or database restart.
          backoff: { type: 'exponential', delay: 5_000 },
          removeOnComplete: { age: 24 * 3600, count: 10_000 },
          removeOnFail: { age: 7 * 24 * 3600 },
        }),
        5_000,
      );
    } catch (err) {
      throw new SystemError(`could not enqueue grading ${gradingId}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** 1-based position among waiting jobs, or null when not waiting. */
  async position(gradingId: string): Promise<number | null> {
    const waiting = await this.queue.getWaiting(0, 1000);
    const i = waiting.findIndex((j) => j.id === gradingId);
    return i < 0 ? null : waiting.length - i;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}
