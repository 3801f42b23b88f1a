import { Worker } from 'bullmq';
import { loadConfig } from '../services/config.ts';
import { assertNoEviction, createContext, redisConnection, type Context } from '../services/context.ts';
import { migrate } from '../services/db/migrate.ts';
import { GRADING_QUEUE, type GradingJob } from '../services/grading/grading-queue.ts';
import { createGradingProcessor } from '../services/grading/grading-processor.ts';
import { GradingRecovery, sweepWorkDirs } from '../services/grading/grading-recovery.ts';
import { gradingHooks } from './grading-hooks.ts';
import { startRegradeWorker } from './regrade-worker.ts';
import { startWebhookWorker } from './webhook-worker.ts';

export interface GradingWorkerOptions {
  concurrency?: number;
  lockDurationMs?: number;
}

/**
 * Starts a grading worker: reaps what dead workers left behind, then consumes the queue.
 * Failed attempts are written to the grading row; the last one marks it failed for good.
 */
export async function startGradingWorker(ctx: Context, opts: GradingWorkerOptions = {}) {
  if (ctx.config.REQUIRE_NOEVICTION) await assertNoEviction(ctx.redis);
  const reaped = await ctx.sandbox.reap();
  if (reaped) ctx.logger.warn({ reaped }, 'removed containers and volumes left by dead workers');
  await ctx.blobs.sweepTemp();
  await sweepWorkDirs(ctx.config.DATA_DIR);
  const lockDuration = opts.lockDurationMs ?? Number(process.env.WORKER_LOCK_MS ?? 30_000);
  const hooks = gradingHooks(ctx);
  const worker = new Worker<GradingJob>(GRADING_QUEUE, createGradingProcessor(ctx, hooks), {
    connection: redisConnection(ctx.config.REDIS_URL),
    prefix: ctx.config.QUEUE_PREFIX,
    concurrency: opts.concurrency ?? ctx.config.WORKER_CONCURRENCY,
    lockDuration,
    stalledInterval: Math.max(1_000, Math.floor(lockDuration / 2)),
    maxStalledCount: 3,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
    ctx.logger.error({ gradingId: job.data.gradingId, attempt: job.attemptsMade, final, err: err.message }, 'grading attempt failed');
    void ctx.submissions
      .markAttemptFailed(job.data.gradingId, err.message, final)
      .then(() => (final ? hooks.onFailed(job.data.gradingId) : undefined))
      .catch(() => {});
  });
  worker.on('error', (err) => ctx.logger.error({ err: err.message }, 'worker error'));
  const recovery = new GradingRecovery(ctx);
  recovery.start();
  return {
    worker,
    async close() {
      recovery.stop();
      await worker.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig();
  const ctx = createContext(config, 'worker');
  await migrate(ctx.db);
  const w = await startGradingWorker(ctx);
  // Regrades and webhook deliveries are consumed by the same process.
  const regrades = startRegradeWorker(ctx);
  const webhooks = startWebhookWorker(ctx);
  ctx.logger.info({ concurrency: config.WORKER_CONCURRENCY }, 'grading, regrade and webhook workers started');
  const stop = async () => {
    await Promise.all([w.close(), regrades.close(), webhooks.close()]);
    await ctx.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
