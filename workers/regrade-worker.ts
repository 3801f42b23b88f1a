import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Context } from '../services/context.ts';
import { redisConnection } from '../services/context.ts';
import { NotFoundError } from '../services/errors.ts';
import { REGRADE_QUEUE } from '../services/regrades/regrade-queue.ts';
import { regradeJobSchema, type RegradeJob } from '../services/regrades/regrade-schema.ts';
import { RegradeService } from '../services/regrades/regrade-service.ts';
import { WebhookService } from '../services/webhooks/webhook-service.ts';

/** The BullMQ processor of regrade jobs; the last failed attempt marks the regrade failed. */
export function createRegradeProcessor(ctx: Context) {
  const service = new RegradeService(ctx, new WebhookService(ctx));
  return async (job: Job<RegradeJob>): Promise<void> => {
    const parsed = regradeJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('malformed regrade job payload');
    try {
      await service.process(parsed.data.regradeId);
    } catch (err) {
      const final = err instanceof NotFoundError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      ctx.logger.error({ regradeId: parsed.data.regradeId, attempt: job.attemptsMade + 1, final, err: (err as Error).message }, 'regrade attempt failed');
      if (final) {
        await ctx.regrades.markFailed(parsed.data.regradeId, (err as Error).message).catch(() => {});
        throw new UnrecoverableError((err as Error).message);
      }
      throw err;
    }
  };
}

export function startRegradeWorker(ctx: Context) {
  // Our own connection, closed with the worker (BullMQ leaves a connection it was given open).
  const connection = redisConnection(ctx.config.REDIS_URL);
  const worker = new Worker<RegradeJob>(REGRADE_QUEUE, createRegradeProcessor(ctx), {
    connection,
    prefix: ctx.config.QUEUE_PREFIX,
    // Rescoring is CPU and database bound: one regrade at a time per worker process.
    concurrency: 1,
    lockDuration: 60_000,
  });
  worker.on('error', (err) => ctx.logger.error({ err: err.message }, 'regrade worker error'));
  return {
    worker,
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}
