import fs from 'node:fs';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { GRADING_QUEUE } from '../../services/grading/grading-queue.ts';
import { tarGzOfFolder } from '../../tests/support/archives.ts';
import type { BenchServices } from './services.ts';
import { uploadArchive } from './services.ts';
import { LoadProbe, RssSampler, processMemory } from './machine.ts';
import { summarize, type Summary } from './stats.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ASSESSMENT = 'churn-messy-csv';

export interface ThroughputRun {
  concurrency: number;
  submissions: number;
  /** First queued_at to last finished_at (database clock). */
  makespanMs: number;
  perMinute: number;
  /** finished_at - started_at per grading. */
  serviceMs: Summary;
  /** started_at - queued_at per grading (includes waiting behind the others). */
  queueWaitMs: Summary;
  /** The first submission of the batch, picked up by an idle worker. */
  firstPickupMs: number;
  statuses: Record<string, number>;
  worker: { peakRssBytes: number; hwmBytes: number | null; samples: number };
  containers: { trainPeakBytes: Summary; predictPeakBytes: Summary };
  load: ReturnType<LoadProbe['stop']>;
}

export interface ThroughputResult {
  runs: ThroughputRun[];
  speedup: number;
  idlePickupMs: Summary;
  /** A submission id with a report, for the API section. */
  sampleSubmissionId: string;
}

/**
 * Section 3 (and the worker half of 6): N submissions uploaded through the real API, graded by a
 * real worker process at concurrency 1, then N more with a fresh worker at concurrency 2. Times
 * come from the gradings table. Then idle pickups: one submission at a time to an idle worker.
 */
export async function throughputBench(
  services: BenchServices,
  opts: { submissions: number; idleSamples: number; log: (s: string) => void; perGradingTimeoutMs?: number },
): Promise<ThroughputResult> {
  const archive = path.join(services.config.DATA_DIR, 'exemplary.tar.gz');
  fs.writeFileSync(archive, await tarGzOfFolder(path.join(ROOT, 'tests/fixtures/submissions/churn/exemplary')));
  const quick = path.join(services.config.DATA_DIR, 'no-solution.tar.gz');
  fs.writeFileSync(quick, await tarGzOfFolder(path.join(ROOT, 'tests/fixtures/submissions/churn/no-solution')));

  // QueueEvents blocks on its connection: it gets its own.
  const redis = new Redis(services.config.REDIS_URL, { maxRetriesPerRequest: null });
  const eventsRedis = new Redis(services.config.REDIS_URL, { maxRetriesPerRequest: null });
  const events = new QueueEvents(GRADING_QUEUE, { connection: eventsRedis, prefix: services.config.QUEUE_PREFIX });
  await events.waitUntilReady();
  const finished = new Set<string>();
  const waiters = new Map<string, () => void>();
  const onDone = ({ jobId }: { jobId: string }) => {
    finished.add(jobId);
    waiters.get(jobId)?.();
  };
  events.on('completed', onDone);
  events.on('failed', onDone);
  const untilDone = (ids: string[], timeoutMs: number) =>
    Promise.race([
      Promise.all(ids.map((id) => (finished.has(id) ? Promise.resolve() : new Promise<void>((r) => waiters.set(id, r))))),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`gradings did not finish within ${timeoutMs / 1000} s`)), timeoutMs).unref()),
    ]);
  const upload = async (file: string) => {
    const res = await uploadArchive(services.baseUrl, ASSESSMENT, file);
    if (res.status !== 202 || !res.body.gradingId) throw new Error(`upload answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as { submissionId: string; gradingId: string };
  };

  const runs: ThroughputRun[] = [];
  let sampleSubmissionId = '';
  const idle: number[] = [];
  try {
    for (const concurrency of [1, 2]) {
      const worker = services.startWorker(concurrency);
      // The worker is ready (and idle) once the grading queue has a worker registered on it.
      const q = new Queue(GRADING_QUEUE, { connection: redis, prefix: services.config.QUEUE_PREFIX });
      for (let i = 0; i < 120 && (await q.getWorkers()).length === 0; i++) await new Promise((r) => setTimeout(r, 250));
      await q.close();
      const sampler = new RssSampler(worker.pid!, 100).start();
      const probe = new LoadProbe().start();
      const batch: { submissionId: string; gradingId: string }[] = [];
      for (let i = 0; i < opts.submissions; i++) batch.push(await upload(archive));
      opts.log(`  concurrency ${concurrency}: ${opts.submissions} submissions queued; grading…`);
      await untilDone(
        batch.map((b) => b.gradingId),
        opts.submissions * (opts.perGradingTimeoutMs ?? 120_000),
      );
      if (concurrency === 1 && opts.idleSamples > 0) {
        // Idle pickups: one quick submission at a time, each after the previous one finished.
        for (let i = 0; i < opts.idleSamples; i++) {
          const s = await upload(quick);
          await untilDone([s.gradingId], 120_000);
          const { rows } = await services.db.query(`SELECT extract(epoch FROM started_at - queued_at) * 1000 AS ms FROM gradings WHERE id = $1`, [s.gradingId]);
          idle.push(Number(rows[0].ms));
        }
      }
      const load = probe.stop();
      const mem = processMemory(worker.pid!);
      const rss = sampler.stop();
      await services.stop(worker);

      const ids = batch.map((b) => b.gradingId);
      const { rows } = await services.db.query(
        `SELECT g.id, g.status, extract(epoch FROM g.queued_at) * 1000 AS q, extract(epoch FROM g.started_at) * 1000 AS s,
                extract(epoch FROM g.finished_at) * 1000 AS f, r.document->'sandbox' AS sandbox
           FROM gradings g LEFT JOIN reports r ON r.grading_id = g.id WHERE g.id = ANY($1::uuid[])`,
        [ids],
      );
      const statuses: Record<string, number> = {};
      for (const r of rows) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      const q0 = Math.min(...rows.map((r) => Number(r.q)));
      const fN = Math.max(...rows.map((r) => Number(r.f)));
      const first = rows.find((r) => Number(r.q) === q0)!;
      const peaks = (step: string) =>
        rows.flatMap((r) => ((r.sandbox ?? []) as { step: string; peakMemoryBytes: number | null }[]).filter((s) => s.step === step && s.peakMemoryBytes).map((s) => s.peakMemoryBytes!));
      runs.push({
        concurrency,
        submissions: ids.length,
        makespanMs: fN - q0,
        perMinute: (ids.length / (fN - q0)) * 60_000,
        serviceMs: summarize(rows.map((r) => Number(r.f) - Number(r.s))),
        queueWaitMs: summarize(rows.map((r) => Number(r.s) - Number(r.q))),
        firstPickupMs: Number(first.s) - Number(first.q),
        statuses,
        worker: { peakRssBytes: rss.peak, hwmBytes: mem?.hwm ?? null, samples: rss.samples },
        containers: { trainPeakBytes: summarize(peaks('train')), predictPeakBytes: summarize(peaks('predict')) },
        load,
      });
      sampleSubmissionId ||= batch[0]!.submissionId;
      opts.log(`  concurrency ${concurrency}: ${ids.length} gradings in ${((fN - q0) / 1000).toFixed(1)} s (${JSON.stringify(statuses)})`);
    }
  } finally {
    events.off('completed', onDone);
    events.off('failed', onDone);
    await events.close();
    eventsRedis.disconnect();
    redis.disconnect();
  }
  return { runs, speedup: runs[0]!.makespanMs / runs[1]!.makespanMs, idlePickupMs: summarize(idle), sampleSubmissionId };
}
