import { UnrecoverableError, type Job } from 'bullmq';
import type { Context } from '../context.ts';
import { signPayload } from './webhook-signature.ts';
import { deliveryJobSchema, type DeliveryJob } from './webhook-schema.ts';

const USER_AGENT = 'ml-grader-webhooks/1';

/** One POST to the endpoint's own URL, redirects not followed, a capped wait and a capped read. */
async function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, signal?: AbortSignal) {
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
    });
    const text = (await res.text().catch(() => '')).slice(0, 300);
    const ok = res.status >= 200 && res.status < 300;
    const error = ok ? null : res.status >= 300 && res.status < 400 ? `HTTP ${res.status}: redirects are not followed` : `HTTP ${res.status}${text ? `: ${text}` : ''}`;
    return { statusCode: res.status, error, durationMs: performance.now() - started };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { statusCode: null, error: `request failed: ${reason}`, durationMs: performance.now() - started };
  }
}

/**
 * Delivers one webhook. Each attempt is logged; a failed attempt throws so BullMQ retries it with
 * exponential backoff; the last one marks the delivery failed and counts against its endpoint,
 * which is disabled after WEBHOOK_DISABLE_AFTER such failures in a row.
 */
export function createWebhookProcessor(ctx: Context) {
  const { config } = ctx;
  return async (job: Job<DeliveryJob>, _token?: string, signal?: AbortSignal): Promise<{ status: string }> => {
    const parsed = deliveryJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('malformed delivery job payload');
    const { deliveryId } = parsed.data;
    const d = await ctx.webhooks.deliveryToSend(deliveryId);
    if (!d) return { status: 'endpoint deleted' };
    if (d.status !== 'pending') return { status: `already ${d.status}` };
    if (!d.endpoint.enabled) {
      await ctx.webhooks.markFailed(d.id, `not sent: the endpoint is disabled (${d.endpoint.disabledReason ?? 'by an admin'})`, false, d.endpoint.id, config.WEBHOOK_DISABLE_AFTER);
      return { status: 'endpoint disabled' };
    }
    const allowed = config.WEBHOOK_ALLOWED_HOSTS;
    if (allowed.length && !allowed.includes(new URL(d.endpoint.url).hostname.toLowerCase())) {
      await ctx.webhooks.markFailed(d.id, `not sent: ${new URL(d.endpoint.url).hostname} is not in WEBHOOK_ALLOWED_HOSTS`, true, d.endpoint.id, config.WEBHOOK_DISABLE_AFTER);
      return { status: 'host not allowed' };
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const result = await post(
      d.endpoint.url,
      {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'x-event': d.event,
        'x-delivery-id': d.id,
        'x-idempotency-key': d.idempotencyKey,
        'x-timestamp': String(timestamp),
        'x-signature': signPayload(d.endpoint.secret, timestamp, d.body),
      },
      d.body,
      config.WEBHOOK_TIMEOUT_MS,
      signal,
    );
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
