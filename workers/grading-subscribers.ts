import type { Context } from '../services/context.ts';
import { GradingEvents } from '../services/grading/grading-events.ts';
import { RegradeService } from '../services/regrades/regrade-service.ts';
import { WebhookService } from '../services/webhooks/webhook-service.ts';

/**
 * Who hears that a grading finished: the webhooks (report.created or grading.failed, recorded and
 * queued as deliveries) and the regrade it belongs to, if any. Wired here so that neither imports
 * the other and the grading knows neither.
 */
export function gradingSubscribers(ctx: Context): GradingEvents {
  const webhooks = new WebhookService(ctx);
  const regrades = new RegradeService(ctx, webhooks);
  return new GradingEvents(ctx.logger).subscribe('webhooks', (e) => webhooks.publishGradingFinished(e)).subscribe('regrades', (e) => regrades.onGradingFinished(e));
}
