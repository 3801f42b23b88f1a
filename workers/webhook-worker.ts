import type { Context } from '../services/context.ts';
import { redisConnection } from '../services/context.ts';
import { startJobWorker } from '../services/jobs/job-queue.ts';
import { closePendingDelivery, createWebhookProcessor } from '../services/webhooks/webhook-processor.ts';
import { deliveryJob } from '../services/webhooks/webhook-queue.ts';
import type { LookupAll } from '../services/webhooks/webhook-address.ts';

/**
 * Consumes webhook deliveries. A delivery whose job fails for good without its row saying so is
 * closed at once; a sweep re-queues deliveries recorded while Redis was unreachable (or whose job
 * vanished), and closes those whose job ended while no worker was there to see it.
 */
export function startWebhookWorker(ctx: Context, opts: { sweepEveryMs?: number; lookup?: LookupAll } = {}) {
  // Our own connection, closed with the worker.
  const connection = redisConnection(ctx.config.REDIS_URL);
  const sweep = async () => {
    for (const id of await ctx.webhooks.stalePending(5 * 60_000)) {
      const job = await ctx.webhookQueue.queue.getJob(id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'missing') await ctx.webhookQueue.enqueue([id]);
      else if (state === 'failed' || state === 'completed') await closePendingDelivery(ctx, id, job?.failedReason ?? 'the delivery job ended without a result', state === 'failed');
    }
  };
  return startJobWorker({
    kind: deliveryJob,
    connection,
    prefix: ctx.config.QUEUE_PREFIX,
    logger: ctx.logger,
    concurrency: ctx.config.WEBHOOK_CONCURRENCY,
    process: createWebhookProcessor(ctx, { lookup: opts.lookup }),
    async onFailed({ deliveryId }, err, { final }) {
      if (final) await closePendingDelivery(ctx, deliveryId, err.message, true);
    },
    sweeps: [{ name: 'webhook sweep', everyMs: opts.sweepEveryMs ?? 60_000, run: sweep }],
    disconnect: () => connection.disconnect(),
  });
}
