import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config.ts';
import { redisConnection } from '../../services/context.ts';
import { GradingQueue, gradingJob } from '../../services/grading/grading-queue.ts';
import { startJobWorker } from '../../services/jobs/job-queue.ts';
import { fairlyStarted } from '../../workers/grading-worker.ts';
import pino from 'pino';

/**
 * The fair order on real Redis and BullMQ (services/grading/fair-priority.ts): workers that only
 * record which grading they started and hold it briefly, so the order is all that is measured.
 */
describe('fair grading queue', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  });

  async function setup(concurrency: number, holdMs: number) {
    const config = loadConfig(process.env, { QUEUE_PREFIX: `test-fair-${crypto.randomBytes(4).toString('hex')}` });
    const redis = redisConnection(config.REDIS_URL);
    const queue = new GradingQueue(redis, config);
    const connection = redisConnection(config.REDIS_URL);
    const started: string[] = [];
    let release: () => void = () => {};
    let gate = Promise.resolve();
    const worker = startJobWorker({
      kind: gradingJob,
      connection,
      prefix: config.QUEUE_PREFIX,
      logger: pino({ level: 'silent' }),
      concurrency,
      process: fairlyStarted(queue, async ({ gradingId }) => {
        started.push(gradingId);
        await gate;
        await new Promise((r) => setTimeout(r, holdMs));
        return null;
      }),
      disconnect: () => connection.disconnect(),
    });
    closers.push(async () => {
      await worker.close();
      await queue.queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
    });
    return {
      queue,
      started,
      /** Holds every started job until released, so jobs can be queued behind busy slots. */
      hold() {
        gate = new Promise((r) => (release = r));
      },
      release: () => release(),
    };
  }

  const ids = (n: number) => Array.from({ length: n }, () => crypto.randomUUID());
  const until = async (cond: () => boolean, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('a flood of 50 gradings of one assessment queued first: another assessment’s grading starts in the next free slot', async () => {
    for (const concurrency of [1, 2]) {
      const q = await setup(concurrency, 5);
      q.hold();
      const flood = ids(50);
      for (const id of flood) await q.queue.enqueue(id, { assessmentId: 'A', reason: 'initial' });
      await until(() => q.started.length === concurrency); // every slot busy with A
      const single = crypto.randomUUID();
      await q.queue.enqueue(single, { assessmentId: 'B', reason: 'initial' });
      expect(await q.queue.position(single)).toBe(1);
      q.release();
      await until(() => q.started.length === 51);
      // The first slot to free up takes B's grading.
      expect(q.started.indexOf(single)).toBe(concurrency);
      expect(new Set(q.started)).toEqual(new Set([...flood, single]));
      // A's own gradings keep their order.
      expect(q.started.filter((id) => id !== single)).toEqual(flood);
      await closers.pop()!();
    }
  }, 60_000);

  it('two floods take turns; regrades wait behind every candidate’s first grading', async () => {
    const q = await setup(1, 1);
    q.hold();
    const [first] = ids(1);
    await q.queue.enqueue(first!, { assessmentId: 'C', reason: 'initial' });
    await until(() => q.started.length === 1);
    const regrades = ids(10);
    for (const id of regrades) await q.queue.enqueue(id, { assessmentId: 'C', reason: 'regrade' });
    const a = ids(5);
    const b = ids(5);
    for (const id of a) await q.queue.enqueue(id, { assessmentId: 'A', reason: 'initial' });
    for (const id of b) await q.queue.enqueue(id, { assessmentId: 'B', reason: 'retry' });
    q.release();
    await until(() => q.started.length === 21);
    const order = q.started.slice(1);
    // A and B alternate (A queued first), then the regrades in their own order.
    expect(order.slice(0, 10)).toEqual(a.flatMap((id, i) => [id, b[i]!]));
    expect(order.slice(10)).toEqual(regrades);
  }, 60_000);

  it('clocks start again once the queue drains', async () => {
    const q = await setup(1, 1);
    for (const id of ids(3)) await q.queue.enqueue(id, { assessmentId: 'A', reason: 'initial' });
    await until(() => q.started.length === 3);
    expect(await q.queue.resetFairnessIfIdle()).toBe(true);
    expect(await q.queue.fair.priority('A', 'first')).toBe(1);
    expect(await q.queue.fair.priority('A', 'regrade')).toBe(2 ** 20);
  }, 30_000);
});
