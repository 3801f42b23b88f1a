import type { Logger } from 'pino';
import { z } from 'zod';
import { GRADING_REASONS } from '../submissions/grading-states.ts';

const common = {
  gradingId: z.string().uuid(),
  submissionId: z.string().uuid(),
  assessmentId: z.string(),
  reason: z.enum(GRADING_REASONS),
  /** The regrade whose sandbox re-run this grading is, if any. */
  regradeId: z.string().uuid().nullable(),
  finishedAt: z.string(),
};

/**
 * "A grading finished": published once by whoever holds the facts (the processor after writing the
 * report, the worker after the last failed attempt), so subscribers never read them back.
 */
export const gradingFinishedSchema = z.discriminatedUnion('status', [
  z.object({ ...common, status: z.literal('completed'), reportId: z.string().uuid(), score: z.number(), passed: z.boolean(), rubricVersion: z.number().int() }),
  /** Failed for good for a system reason (retries spent); a candidate's own failure is a completed grading. */
  z.object({ ...common, status: z.literal('failed'), attempts: z.number().int(), error: z.string().nullable() }),
]);
export type GradingFinished = z.infer<typeof gradingFinishedSchema>;
export type GradingFinishedSubscriber = (event: GradingFinished) => Promise<unknown>;

/**
 * In-process subscribers to GradingFinished, wired by the entry point. Every subscriber runs
 * whatever the others do; a failure is logged and never reaches the publisher (the grading itself
 * is done; what a subscriber must not lose, such as a webhook delivery, it records durably).
 */
export class GradingEvents {
  private readonly subscribers: { name: string; fn: GradingFinishedSubscriber }[] = [];

  constructor(private readonly logger: Pick<Logger, 'error'>) {}

  subscribe(name: string, fn: GradingFinishedSubscriber): this {
    this.subscribers.push({ name, fn });
    return this;
  }

  async publish(event: GradingFinished): Promise<void> {
    const parsed = gradingFinishedSchema.safeParse(event);
    if (!parsed.success) {
      this.logger.error({ gradingId: event.gradingId, err: parsed.error.message }, 'malformed grading-finished event not published');
      return;
    }
    await Promise.all(
      this.subscribers.map(({ name, fn }) =>
        Promise.resolve()
          .then(() => fn(parsed.data))
          .catch((err) => this.logger.error({ gradingId: event.gradingId, subscriber: name, err: (err as Error).message }, `grading-finished subscriber ${name} failed`)),
      ),
    );
  }
}
