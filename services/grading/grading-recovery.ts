import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import type { SubmissionRepository } from '../submissions/submission-repository.ts';
import type { GradingQueue } from './grading-queue.ts';

export interface GradingRecoveryDeps {
  config: Pick<Config, 'DATA_DIR' | 'STALLED_GRADING_MS'>;
  logger: Logger;
  queue: GradingQueue;
  sandbox: Pick<Sandbox, 'reap'>;
  submissions: SubmissionRepository;
}

/**
 * Finds gradings the queue lost track of — running with a silent worker, or queued without a job
 * (Redis was down when they were accepted) — and puts them back on the queue. BullMQ's own stalled
 * check handles the common case; this is the safety net that keeps the API truthful (the grading
 * worker runs it every 15 s).
 */
export class GradingRecovery {
  constructor(private readonly ctx: GradingRecoveryDeps) {}

  async sweep(): Promise<{ requeued: string[] }> {
    const { ctx } = this;
    const requeued: string[] = [];
    await ctx.sandbox.reap().catch((err) => ctx.logger.warn({ err: err.message }, 'reaping orphan containers failed'));
    await sweepWorkDirs(ctx.config.DATA_DIR);
    const stalled = await ctx.submissions.stalled(ctx.config.STALLED_GRADING_MS);
    const orphans = await ctx.submissions.queuedSince(60);
    for (const g of [...stalled, ...orphans]) {
      const job = await ctx.queue.queue.getJob(g.id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'active' || state === 'waiting' || state === 'delayed' || state === 'prioritized') continue;
      if (state === 'failed') {
        await ctx.submissions.markAttemptFailed(g.id, job?.failedReason ?? 'failed', true);
        continue;
      }
      if (job) await job.remove().catch(() => {});
      // Ranked as its own group: the assessment is not on the row, and a lost job should not wait long.
      await ctx.queue.enqueue(g.id, { assessmentId: `recovered:${g.id}`, reason: (g as { reason?: string }).reason ?? 'initial' });
      requeued.push(g.id);
      ctx.logger.warn({ gradingId: g.id, state }, 're-queued a grading the queue had lost');
    }
    return { requeued };
  }
}

/** Removes grading work folders (DATA_DIR/work/<pid>-<grading>) of worker processes that are gone. */
export async function sweepWorkDirs(dataDir: string): Promise<number> {
  const root = path.join(dataDir, 'work');
  let removed = 0;
  for (const name of await fsp.readdir(root).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    await fsp.rm(path.join(root, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
