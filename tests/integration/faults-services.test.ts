import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { assertNoEviction } from '../../services/context.ts';
import { SubmissionService } from '../../services/submissions/submission-service.ts';
import { GradingRecovery } from '../../services/grading/grading-recovery.ts';
import { ROOT, eventually, testContext, type DockerContext } from '../support/context.ts';
import { tarGzOfFolder } from '../support/archives.ts';
import { spawnWorker, stopWorker } from '../support/worker-process.ts';
import { DedicatedPostgres, DedicatedRedis } from '../support/dedicated-services.ts';
import { recordCase } from '../support/security-cases.ts';

const FIXTURES = path.join(ROOT, 'tests/fixtures/submissions/smoke');
const workers: ChildProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map(stopWorker));
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function submit(ctx: DockerContext, fixture: string) {
  const data = await tarGzOfFolder(path.join(FIXTURES, fixture));
  const a = await new SubmissionService(ctx).accept({ assessmentId: 'smoke-binary', fileName: `${fixture}.tar.gz`, stream: Readable.from([data]) });
  return a.grading.id;
}
const completed = async (ctx: DockerContext, ids: string[]) => {
  const { rows } = await ctx.db.query(`SELECT count(*)::int AS n FROM gradings WHERE id = ANY($1) AND status = 'completed'`, [ids]);
  return rows[0].n === ids.length;
};
const reportsOnce = async (ctx: DockerContext, ids: string[]) => {
  const { rows } = await ctx.db.query(`SELECT grading_id, count(*)::int AS n FROM reports WHERE grading_id = ANY($1) GROUP BY grading_id`, [ids]);
  return rows.length === ids.length && rows.every((r) => r.n === 1);
};

describe('Redis', () => {
  it('case 17: a Redis with an evicting policy is refused at start', async () => {
    const redis = new DedicatedRedis(56400, 'allkeys-lru');
    await redis.start();
    cleanups.push(() => redis.destroy());
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    await expect(assertNoEviction(client)).rejects.toThrow(/allkeys-lru.*noeviction/);
    client.disconnect();
    recordCase(17, 'Redis with maxmemory-policy allkeys-lru', 'refused at start with a message naming the policy');
  });

  it('case 17: restarting Redis (AOF) mid-queue and mid-job loses no job', async () => {
    const redis = new DedicatedRedis(56401);
    await redis.start();
    cleanups.push(() => redis.destroy());
    const ctx = await testContext({ REDIS_URL: redis.url });
    cleanups.push(() => ctx.close());
    const ids = [await submit(ctx, 'slow'), await submit(ctx, 'good'), await submit(ctx, 'good')];
    // Mid-queue: nothing consumed yet.
    await redis.kill();
    await redis.start();
    expect(await ctx.queue.depth()).toBe(3);
    // Mid-job: kill Redis while the first grading runs.
    workers.push(spawnWorker(ctx, { REDIS_URL: redis.url }));
    await eventually(async () => (await ctx.sandbox.listManaged()).some((c) => ids.includes(c.gradingId)), 60_000);
    await redis.kill();
    await new Promise((r) => setTimeout(r, 2_000));
    await redis.start();
    await eventually(() => completed(ctx, ids), 180_000, 1_000);
    expect(await reportsOnce(ctx, ids)).toBe(true);
    recordCase(17, 'restart Redis mid-queue and mid-job (AOF)', '3 of 3 gradings completed, one report each');
  });
});

describe('Postgres', () => {
  it('case 18: stopping Postgres mid-job: retried with backoff, visible, never stuck in running', async () => {
    const pg = new DedicatedPostgres(55499);
    await pg.init();
    await pg.start();
    cleanups.push(() => pg.destroy());
    const ctx = await testContext({ DATABASE_URL: pg.url });
    cleanups.push(() => ctx.close());
    const id = await submit(ctx, 'slow');
    workers.push(spawnWorker(ctx, { DATABASE_URL: pg.url }));
    await eventually(async () => (await ctx.sandbox.listManaged()).some((c) => c.gradingId === id), 60_000);
    await pg.stop();
    await new Promise((r) => setTimeout(r, 8_000)); // the grading finishes its sandbox work and fails to store
    await pg.start();
    await eventually(() => completed(ctx, [id]), 180_000, 1_000);
    expect(await reportsOnce(ctx, [id])).toBe(true);
    const g = (await ctx.submissions.getGrading(id))!;
    expect(g.attempts).toBeGreaterThanOrEqual(1);
    recordCase(18, 'stop Postgres mid-job', `completed after restart, attempts ${g.attempts}, one report`);
  });
});

describe('recovery', () => {
  it('a grading stuck in "running" with a dead worker and no job is re-queued and completed', async () => {
    const ctx = await testContext({ STALLED_GRADING_MS: 1_000 });
    cleanups.push(() => ctx.close());
    const id = await submit(ctx, 'good');
    await ctx.queue.queue.obliterate({ force: true }); // the queue lost it
    await ctx.db.query(`UPDATE gradings SET status = 'running', phase = 'training', heartbeat_at = now() - interval '1 hour', worker_host = 'gone/1' WHERE id = $1`, [id]);
    const { requeued } = await new GradingRecovery(ctx).sweep();
    expect(requeued).toContain(id);
    workers.push(spawnWorker(ctx));
    await eventually(() => completed(ctx, [id]), 120_000);
    expect(await reportsOnce(ctx, [id])).toBe(true);
  });
});
