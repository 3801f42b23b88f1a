import { Queue, type ConnectionOptions } from 'bullmq';
import type { Config } from '../config.ts';
import { deliveryJobSchema, type DeliveryJob } from './webhook-schema.ts';

export const WEBHOOK_QUEUE = 'webhook';

/** Webhook deliveries: the delivery id is the job id; retries with exponential backoff. */
export class WebhookQueue {
  readonly queue: Queue<DeliveryJob>;

  constructor(
    connection: ConnectionOptions,
    private readonly config: Config,
  ) {
    this.queue = new Queue<DeliveryJob>(WEBHOOK_QUEUE, { connection, prefix: config.QUEUE_PREFIX });
  }

  async enqueue(deliveryIds: string[]): Promise<void> {
    for (let i = 0; i < deliveryIds.length; i += 500) {
      await this.queue.addBulk(
        deliveryIds.slice(i, i + 500).map((deliveryId) => ({
          name: 'deliver',
          data: deliveryJobSchema.parse({ deliveryId }),
          opts: {
            jobId: deliveryId,
            attempts: this.config.WEBHOOK_ATTEMPTS,
            backoff: { type: 'exponential', delay: this.config.WEBHOOK_BACKOFF_MS },
            removeOnComplete: { age: 24 * 3600, count: 10_000 },
            removeOnFail: { age: 7 * 24 * 3600 },
          },
        })),
      );
    }
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
