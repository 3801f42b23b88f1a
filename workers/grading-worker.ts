import { loadConfig } from '../services/config.ts';
import { assertNoEviction, createContext, redisConnection, type Context } from '../services/context.ts';
import { migrate } from '../services/db/migrate.ts';
import type { Job } from 'bullmq';
import { gradingJob, type GradingQueue } from '../services/grading/grading-queue.ts';
import { createGradingProcessor, gradingFailedEvent } from '../services/grading/grading-processor.ts';
import { GradingRecovery, sweepWorkDirs } from '../services/grading/grading-recovery.ts';
import { startJobWorker } from '../services/jobs/job-queue.ts';
import { gradingSubscribers } from './grading-subscribers.ts';
import { startRegradeWorker } from './regrade-worker.ts';
import { startSimilarityWorker } from './similarity-worker.ts';
import { startWebhookWorker } from './webhook-worker.ts';

export interface GradingWorkerOptions {
  concurrency?: number;
  lockDurationMs?: number;
}

/**
 * Starts a grading worker: reaps what dead workers left behind, then consumes the queue.
 * Failed attempts are written to the grading row; the last one marks it failed for good and
 * publishes GradingFinished.
 */
export async function startGradingWorker(ctx: Context, opts: GradingWorkerOptions = {}) {
  if (ctx.config.REQUIRE_NOEVICTION) await assertNoEviction(ctx.redis);
  await assertRunnerImage(ctx);
  const reaped = await ctx.sandbox.reap();
  if (reaped) ctx.logger.warn({ reaped }, 'removed containers and volumes left by dead workers');
  await ctx.blobs.sweepTemp();
  await sweepWorkDirs(ctx.config.DATA_DIR);
  const lockDuration = opts.lockDurationMs ?? ctx.config.WORKER_LOCK_MS;
  const events = gradingSubscribers(ctx);
  const recovery = new GradingRecovery(ctx);
  // Our own connection, closed with the worker (BullMQ leaves a connection it was given open).
  const connection = redisConnection(ctx.config.REDIS_URL);
  const started = startJobWorker({
    kind: gradingJob,
    connection,
    prefix: ctx.config.QUEUE_PREFIX,
    logger: ctx.logger,
    concurrency: opts.concurrency ?? ctx.config.WORKER_CONCURRENCY,
    lockDuration,
    stalledInterval: Math.max(1_000, Math.floor(lockDuration / 2)),
    maxStalledCount: 3,
    process: fairlyStarted(
      ctx.queue,
      createGradingProcessor(ctx, (e) => events.publish(e)),
    ),
    async onFailed({ gradingId }, err, { final }) {
      const failed = await ctx.submissions.markAttemptFailed(gradingId, err.message, final);
      if (final && failed) await events.publish(gradingFailedEvent(failed));
    },
    sweeps: [{ name: 'grading recovery sweep', everyMs: 15_000, run: () => recovery.sweep() }],
    disconnect: () => connection.disconnect(),
  });
  started.worker.on('drained', () => void ctx.queue.resetFairnessIfIdle().catch(() => {}));
  return started;
}

/** A host whose runner image is not the one the deployment pinned (RUNNER_IMAGE_DIGEST) grades nothing. */
export async function assertRunnerImage(ctx: Pick<Context, 'config' | 'sandbox'>): Promise<void> {
  const want = ctx.config.RUNNER_IMAGE_DIGEST;
  if (!want) return;
  const found = await ctx.sandbox.imageId(ctx.config.RUNNER_IMAGE);
  if (found !== want) throw new Error(`runner image ${ctx.config.RUNNER_IMAGE} on this host is ${found}, not the pinned ${want}; not starting`);
}

/** Moves the fair order's clock to each job a worker takes (services/grading/fair-priority.ts). */
export function fairlyStarted<D, R>(queue: Pick<GradingQueue, 'fair'>, process: (data: D, job: Job, signal?: AbortSignal) => Promise<R>) {
  return async (data: D, job: Job, signal?: AbortSignal): Promise<R> => {
    await queue.fair.started(job.opts.priority);
    return process(data, job, signal);
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
  const similarity = startSimilarityWorker(ctx);
  ctx.logger.info({ concurrency: config.WORKER_CONCURRENCY }, 'grading, regrade, webhook and similarity workers started');
  const stop = () => {
    // A failed close is logged and ends the process with an error, not an unhandled rejection.
    Promise.all([w.close(), regrades.close(), webhooks.close(), similarity.close()])
      .then(() => ctx.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          ctx.logger.error({ err }, 'workers did not stop cleanly');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
