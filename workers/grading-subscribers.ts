import type { Context } from '../services/context.ts';
import { GradingEvents } from '../services/grading/grading-events.ts';
import { RegradeService } from '../services/regrades/regrade-service.ts';
import { SimilarityQueue } from '../services/similarity/similarity-queue.ts';
import { SimilarityRepository } from '../services/similarity/similarity-repository.ts';
import { WebhookService } from '../services/webhooks/webhook-service.ts';

/**
 * Who hears that a grading finished: the webhooks (report.created or grading.failed, recorded and
 * queued as deliveries) and the regrade it belongs to, if any. Wired here so that neither imports
 * the other and the grading knows neither. A completed grading also queues a similarity run (issue
 * 16): retried on its own queue, recorded in similarity_runs, never able to fail the grading.
 */
export function gradingSubscribers(ctx: Context): GradingEvents {
  const webhooks = new WebhookService(ctx);
  const regrades = new RegradeService(ctx, webhooks);
  const similarityQueue = new SimilarityQueue(ctx.redis, ctx.config);
  const similarity = new SimilarityRepository(ctx.db);
  return new GradingEvents(ctx.logger)
    .subscribe('webhooks', (e) => webhooks.publishGradingFinished(e))
    .subscribe('regrades', (e) => regrades.onGradingFinished(e))
    .subscribe('similarity', async (e) => {
      if (e.status !== 'completed') return;
      await similarity.markRun(e.submissionId, 'queued');
      await similarityQueue.add({ submissionId: e.submissionId, gradingId: e.gradingId });
    });
}
