import type { ConnectionOptions } from 'bullmq';
import type { Config } from '../config.ts';
import { afterGradingRetry, defineJob, JobQueue } from '../jobs/job-queue.ts';
import { deliveryJobSchema } from './webhook-schema.ts';

export const WEBHOOK_QUEUE = 'webhook';

/** Webhook deliveries: the delivery id is the job id; retries with exponential backoff. */
export const deliveryJob = defineJob({ queue: WEBHOOK_QUEUE, name: 'deliver', label: 'webhook delivery', schema: deliveryJobSchema, jobId: (j) => j.deliveryId });

export class WebhookQueue extends JobQueue<typeof deliveryJobSchema> {
  constructor(connection: ConnectionOptions, config: Config) {
    super(deliveryJob, connection, { prefix: config.QUEUE_PREFIX, jobOptions: afterGradingRetry(config) });
  }

  enqueue(deliveryIds: string[]): Promise<void> {
    return this.addBulk(deliveryIds.map((deliveryId) => ({ deliveryId })));
  }
}
