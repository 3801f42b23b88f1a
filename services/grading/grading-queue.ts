import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { QueueFullError, SystemError } from '../errors.ts';
import { defineJob, JobQueue, withTimeout } from '../jobs/job-queue.ts';
import { FairPriority, laneOf } from './fair-priority.ts';

export { withTimeout };

export const GRADING_QUEUE = 'grading';

/** The job catalog entry for gradings: the grading id is the job id, so a second add is a no-op. */
export const gradingJobSchema = z.object({ gradingId: z.string().uuid() }).strict();
export type GradingJob = z.infer<typeof gradingJobSchema>;
export const gradingJob = defineJob({ queue: GRADING_QUEUE, name: 'grade', label: 'grading', schema: gradingJobSchema, jobId: (j) => j.gradingId });

/** Whose grading it is, for the fair order (services/grading/fair-priority.ts). */
export interface FairTicket {
  assessmentId: string;
  reason: string;
}

export class GradingQueue extends JobQueue<typeof gradingJobSchema> {
  readonly fair: FairPriority;

  constructor(
    connection: Redis,
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
    this.fair = new FairPriority(connection, `${config.QUEUE_PREFIX}:${GRADING_QUEUE}`);
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

  /**
   * Idempotent: the job id is the grading id. With a ticket the job takes its fair place (first
   * gradings before regrades, assessments in turns); without one (tests, tools) it is ranked as a
   * first grading of an assessment of its own.
   */
  async enqueue(gradingId: string, ticket: FairTicket = { assessmentId: `grading:${gradingId}`, reason: 'initial' }): Promise<void> {
    let priority: number;
    try {
      priority = await withTimeout(this.fair.priority(ticket.assessmentId, laneOf(ticket.reason)), 5_000);
    } catch (err) {
      throw new SystemError(`could not rank grading ${gradingId}: ${(err as Error).message}`, { cause: err });
    }
    return this.add({ gradingId }, { priority });
  }

  /** Called when a worker finds nothing waiting: the fair order's clocks start again. */
  async resetFairnessIfIdle(): Promise<boolean> {
    const c = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed');
    if (Object.values(c).some((n) => n > 0)) return false;
    await this.fair.reset();
    return true;
  }

  /**
   * 1-based place in the order workers will take jobs (plain waiting jobs first, then prioritized
   * ones by priority), among the first 1000; null when not waiting.
   */
  async position(gradingId: string): Promise<number | null> {
    const waiting = await this.queue.getWaiting(0, 1000);
    const i = waiting.findIndex((j) => j.id === gradingId);
    if (i >= 0) return waiting.length - i;
    const prioritized = await this.queue.getPrioritized(0, Math.max(0, 999 - waiting.length));
    const k = prioritized.findIndex((j) => j.id === gradingId);
    return k < 0 ? null : waiting.length + k + 1;
  }
}
