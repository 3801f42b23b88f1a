import type { Context } from '../services/context.ts';
import { WebhookService } from '../services/webhooks/webhook-service.ts';
import { RegradeService } from '../services/regrades/regrade-service.ts';

/**
 * What happens when a sandbox grading ends: its report goes out to webhooks, and a regrade
 * waiting on it (a sandbox re-run) counts it. Each part runs even if the other fails.
 */
export function gradingHooks(ctx: Context) {
  const webhooks = new WebhookService(ctx);
  const regrades = new RegradeService(ctx, webhooks);
  const guard = (what: string, p: Promise<unknown>) => p.catch((err) => ctx.logger.error({ err: (err as Error).message }, `${what} failed`));
  return {
    /** Passed to createGradingProcessor: a report was written for a grading. */
    async onReport(_submissionId: string, reportId: string): Promise<void> {
      const { rows } = await ctx.db.query('SELECT grading_id FROM reports WHERE id = $1', [reportId]);
      await Promise.all([
        guard('publishing the report webhook', webhooks.publishReport(reportId)),
        rows[0]?.grading_id ? guard('updating the regrade', regrades.onGradingFinished(rows[0].grading_id)) : Promise.resolve(),
      ]);
    },
    /** A grading failed for good: subscribers hear of it, and a regrade waiting on it counts it. */
    async onFailed(gradingId: string): Promise<void> {
      await Promise.all([
        guard('publishing the grading.failed webhook', webhooks.publishGradingFailed(gradingId)),
        guard('updating the regrade', regrades.onGradingFinished(gradingId)),
      ]);
    },
  };
}
