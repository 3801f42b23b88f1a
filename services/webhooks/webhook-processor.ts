import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { WebhookRepository } from './webhook-repository.ts';
import { signPayload } from './webhook-signature.ts';
import type { DeliveryJob } from './webhook-schema.ts';
import { resolveWebhookTarget, type LookupAll } from './webhook-address.ts';
import { postPinned, type PostResult } from './webhook-request.ts';

const USER_AGENT = 'ml-grader-webhooks/1';

/**
 * Delivers one webhook. Each attempt is logged; a failed attempt throws so BullMQ retries it with
 * exponential backoff; the last one marks the delivery failed and counts against its endpoint,
 * which is disabled after WEBHOOK_DISABLE_AFTER such failures in a row. The URL's host is resolved
 * and checked on every attempt (webhook-address.ts) and the request goes to the address checked; a
 * host outside WEBHOOK_ALLOWED_HOSTS or an address inside the service's own network fails the
 * delivery for good, unsent; a name that does not resolve is a failed attempt like any other.
 */
export interface WebhookProcessorDeps {
  config: Pick<Config, 'WEBHOOK_ALLOWED_HOSTS' | 'WEBHOOK_DISABLE_AFTER' | 'WEBHOOK_TIMEOUT_MS'>;
  logger: Logger;
  webhooks: WebhookRepository;
}

export function createWebhookProcessor(ctx: WebhookProcessorDeps, opts: { lookup?: LookupAll } = {}) {
  const { config } = ctx;
  return async ({ deliveryId }: DeliveryJob, job: Pick<Job, 'attemptsMade' | 'opts'>, signal?: AbortSignal): Promise<{ status: string }> => {
    const d = await ctx.webhooks.deliveryToSend(deliveryId);
    if (!d) return { status: 'endpoint deleted' };
    if (d.status !== 'pending') return { status: `already ${d.status}` };
    if (!d.endpoint.enabled) {
      await ctx.webhooks.markFailed(d.id, `not sent: the endpoint is disabled (${d.endpoint.disabledReason ?? 'by an admin'})`, false, d.endpoint.id, config.WEBHOOK_DISABLE_AFTER);
      return { status: 'endpoint disabled' };
    }
    const target = await resolveWebhookTarget(d.endpoint.url, config.WEBHOOK_ALLOWED_HOSTS, opts.lookup);
    if (!target.ok && target.code !== 'unresolved') {
      await ctx.webhooks.markFailed(d.id, `not sent: ${target.reason}`, true, d.endpoint.id, config.WEBHOOK_DISABLE_AFTER);
      ctx.logger.warn({ deliveryId: d.id, endpointId: d.endpoint.id, reason: target.reason }, 'webhook not sent: target refused');
      return { status: target.code === 'host_not_allowed' ? 'host not allowed' : 'address refused' };
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'x-event': d.event,
      'x-delivery-id': d.id,
      'x-idempotency-key': d.idempotencyKey,
      'x-timestamp': String(timestamp),
      'x-signature': signPayload(d.endpoint.secret, timestamp, d.body),
    };
    const result: PostResult = target.ok
      ? await postPinned(target, d.endpoint.url, headers, d.body, config.WEBHOOK_TIMEOUT_MS, signal)
      : { statusCode: null, error: `request failed: ${target.reason}`, durationMs: 0 };
    const attempt = await ctx.webhooks.recordAttempt(d.id, result);
    const log = ctx.logger.child({ deliveryId: d.id, endpointId: d.endpoint.id, attempt, statusCode: result.statusCode });
    if (!result.error) {
      await ctx.webhooks.markSucceeded(d.id, d.endpoint.id);
      log.info('webhook delivered');
      return { status: 'succeeded' };
    }
    const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (final) {
      const endpoint = await ctx.webhooks.markFailed(d.id, result.error, true, d.endpoint.id, config.WEBHOOK_DISABLE_AFTER);
      log.warn({ err: result.error, disabled: endpoint ? !endpoint.enabled : null }, 'webhook delivery failed after every attempt');
      throw new UnrecoverableError(result.error);
    }
    log.info({ err: result.error }, 'webhook attempt failed; retrying');
    throw new Error(result.error);
  };
}

/**
 * Closes a delivery whose job ended without the row saying so (a final failure outside the HTTP
 * attempt, or a job that vanished): failed, counted against its endpoint when `counts`.
 */
export async function closePendingDelivery(ctx: Pick<WebhookProcessorDeps, 'config' | 'webhooks'>, deliveryId: string, reason: string, counts: boolean): Promise<void> {
  const d = await ctx.webhooks.deliveryToSend(deliveryId);
  if (d?.status === 'pending') await ctx.webhooks.markFailed(deliveryId, reason, counts, d.endpoint.id, ctx.config.WEBHOOK_DISABLE_AFTER);
}
