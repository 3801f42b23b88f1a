import { Worker } from 'bullmq';
import type { Context } from '../services/context.ts';
import { redisConnection } from '../services/context.ts';
import { WEBHOOK_QUEUE } from '../services/webhooks/webhook-queue.ts';
import { createWebhookProcessor } from '../services/webhooks/webhook-processor.ts';
import type { DeliveryJob } from '../services/webhooks/webhook-schema.ts';
import type { LookupAll } from '../services/webhooks/webhook-address.ts';

/**
 * Consumes webhook deliveries. A sweep re-queues deliveries recorded while Redis was unreachable
 * (or whose job vanished), and closes those whose job failed without the row being updated.
 */
export function startWebhookWorker(ctx: Context, opts: { sweepEveryMs?: number; lookup?: LookupAll } = {}) {
  // Our own connection, closed with the worker (BullMQ leaves a connection it was given open).
  const connection = redisConnection(ctx.config.REDIS_URL);
  const worker = new Worker<DeliveryJob>(WEBHOOK_QUEUE, createWebhookProcessor(ctx, { lookup: opts.lookup }), {
    connection,
    prefix: ctx.config.QUEUE_PREFIX,
    concurrency: ctx.config.WEBHOOK_CONCURRENCY,
  });
  worker.on('error', (err) => ctx.logger.error({ err: err.message }, 'webhook worker error'));
  const sweep = async () => {
    for (const id of await ctx.webhooks.stalePending(5 * 60_000)) {
      const job = await ctx.webhookQueue.queue.getJob(id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'missing') await ctx.webhookQueue.enqueue([id]);
      else if (state === 'failed' || state === 'completed') {
        const d = await ctx.webhooks.deliveryToSend(id);
        if (d?.status === 'pending') await ctx.webhooks.markFailed(id, job?.failedReason ?? 'the delivery job ended without a result', state === 'failed', d.endpoint.id, ctx.config.WEBHOOK_DISABLE_AFTER);
      }
    }
  };
  const timer = setInterval(() => void sweep().catch((err) => ctx.logger.warn({ err: err.message }, 'webhook sweep failed')), opts.sweepEveryMs ?? 60_000);
  timer.unref();
  return {
    worker,
    async close() {
      clearInterval(timer);
      await worker.close();
      connection.disconnect();
    },
  };
}
