import type { Context } from '../services/context.ts';
import { redisConnection } from '../services/context.ts';
import { NotFoundError } from '../services/errors.ts';
import { startJobWorker } from '../services/jobs/job-queue.ts';
import { regradeJob } from '../services/regrades/regrade-queue.ts';
import { RegradeService } from '../services/regrades/regrade-service.ts';
import { WebhookService } from '../services/webhooks/webhook-service.ts';

/** Consumes regrade jobs; the last failed attempt (or a regrade that does not exist) marks the regrade failed. */
export function startRegradeWorker(ctx: Context) {
  const service = new RegradeService(ctx, new WebhookService(ctx));
  // Our own connection, closed with the worker.
  const connection = redisConnection(ctx.config.REDIS_URL);
  return startJobWorker({
    kind: regradeJob,
    connection,
    prefix: ctx.config.QUEUE_PREFIX,
    logger: ctx.logger,
    // Rescoring is CPU and database bound: one regrade at a time per worker process.
    concurrency: 1,
    lockDuration: 60_000,
    process: ({ regradeId }) => service.process(regradeId),
    unrecoverable: (err) => err instanceof NotFoundError,
    async onFailed({ regradeId }, err, { final }) {
      if (final) await ctx.regrades.markFailed(regradeId, err.message);
    },
    disconnect: () => connection.disconnect(),
  });
}
