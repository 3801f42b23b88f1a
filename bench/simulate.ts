import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { z } from 'zod';
import { createContext, redisConnection } from '../services/context.ts';
import { makeTarGz } from '../tests/support/archives.ts';
import { BenchServices, BENCH_ADMIN_KEY } from './lib/services.ts';
import { quantile } from './lib/stats.ts';
import { queueOverheads, type SlotEvent } from './lib/slot-overhead.ts';
import { recordGrading } from './lib/timing-recording.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SAMPLES = path.join(ROOT, 'bench/data/grading-times.json');

/**
 * The scale simulation (issue 17): the real API (HTTP uploads), BullMQ, Postgres (blobs included)
 * and worker processes, with the timing sandbox (services/sandbox/timing-sandbox.ts) in place of
 * Docker: each grading sleeps for a measured grading's train and predict times × --scale and hands
 * back a recorded harness output, so the host side of every grading (archive, measure, score,
 * report) is real. Killed workers are replaced at once by a new process.
 *
 * 1. Flood: the queue is held while --flood submissions of one assessment are uploaded (a class or
 *    a bulk regrade arriving at once), then let go. Once every slot has taken a second flood
 *    grading (the flood runs steadily, slots busy, most of it still waiting), one submission of
 *    another assessment is uploaded. Asserted: it waits at most one grading time (the flood's
 *    median), and no flood grading queued before it starts ahead of it beyond those a worker had
 *    already taken (one per slot). Right at the release every slot starts together, so the first
 *    slot frees only after a whole grading, flood or not: that moment would measure the slots, not
 *    the order.
 * 2. Bulk: the rest, over both assessments, while --kills workers are SIGKILLed at random moments.
 * Asserted at the end: every submission has one completed grading with one report (0 lost,
 * 0 duplicate). Exit code 1 when an assertion fails. Results: bench/results/simulate.json.
 */
const args = z
  .object({
    submissions: z.coerce.number().int().min(10),
    processes: z.coerce.number().int().min(2),
    concurrency: z.coerce.number().int().min(1),
    kills: z.coerce.number().int().min(0),
    flood: z.coerce.number().int().min(1),
    scale: z.coerce.number().positive(),
    uploaders: z.coerce.number().int().min(1),
    'lock-ms': z.coerce.number().int().min(1000),
    'timeout-s': z.coerce.number().positive(),
    out: z.string(),
  })
  .refine((a) => a.flood < a.submissions - 1, 'the flood must leave room for the bulk')
  .parse(
    parseArgs({
      options: {
        submissions: { type: 'string', default: '20000' },
        processes: { type: 'string', default: '10' },
        concurrency: { type: 'string', default: '20' },
        kills: { type: 'string', default: '5' },
        flood: { type: 'string', default: '5000' },
        scale: { type: 'string', default: '0.05' },
        uploaders: { type: 'string', default: '24' },
        // The workers' BullMQ lock: the service's own default. A shorter lock finds a killed worker's
        // grading sooner, but on a starved machine it also expires under live workers (second attempts).
        'lock-ms': { type: 'string', default: '30000' },
        'timeout-s': { type: 'string', default: '3600' },
        out: { type: 'string', default: path.join(ROOT, 'bench/results/simulate.json') },
      },
    }).values,
  );

const FLOODED = 'smoke-binary';
const OTHER = 'smoke-binary-b';
const log = (msg: string) => process.stderr.write(`[simulate ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Two assessments with the same task: smoke-binary and a copy under another id (same data, same recording). */
async function assessmentsDir(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'simulate-assessments-'));
  await fsp.cp(path.join(ROOT, 'assessments', FLOODED), path.join(dir, FLOODED), { recursive: true });
  await fsp.cp(path.join(ROOT, 'assessments', FLOODED), path.join(dir, OTHER), { recursive: true });
  for (const [file, keys] of [
    ['assessment.json', ['id']],
    ['rubric.json', ['assessmentId']],
  ] as const) {
    const p = path.join(dir, OTHER, file);
    const doc = JSON.parse(await fsp.readFile(p, 'utf8'));
    for (const k of keys) doc[k] = OTHER;
    if (file === 'rubric.json') doc.id = `${OTHER}-default`;
    await fsp.writeFile(p, JSON.stringify(doc, null, 2));
  }
  return dir;
}

interface WorkerProc {
  child: ChildProcess;
  pid: number;
  ready: Promise<number>;
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const assessments = await assessmentsDir();
  const simEnv = {
    BLOB_STORE: 'postgres',
    QUEUE_MAX_DEPTH: '1000000',
    UPLOAD_RATE_PER_IP: '100000000',
    WORKER_LOCK_MS: String(args['lock-ms']),
    LOG_LEVEL: 'warn',
    REPORT_CACHE_BYTES: '0',
  };
  const services = await BenchServices.start({ ...simEnv, ASSESSMENTS_DIR: assessments });
  const redis = redisConnection(services.config.REDIS_URL);
  const queue = new Queue('grading', { connection: redis, prefix: services.config.QUEUE_PREFIX });
  const workers = new Set<WorkerProc>();
  const events: SlotEvent[] = [];
  const pidsKilled: { pid: number; at: number }[] = [];
  const cleanUp = async () => {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all([...workers].map((w) => new Promise((r) => (w.child.exitCode !== null ? r(null) : w.child.once('exit', r)))));
    await queue.close();
    redis.disconnect();
    await services.close();
    await fsp.rm(assessments, { recursive: true, force: true });
  };
  // Stopped from outside: the worker and API processes, the database and the queues go too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  try {
    // The recording: one real grading in Docker (cached per runner image), and the datasets in the cache.
    const ctx = createContext(services.config, 'simulate');
    const recording = await recordGrading(ctx, FLOODED, path.join(ROOT, 'tests/fixtures/submissions/smoke/good'), log);
    await ctx.datasets.get(ctx.assessments.get(OTHER));
    const solution = await fsp.readFile(path.join(ROOT, 'tests/fixtures/submissions/smoke/good/solution.py'));
    await ctx.close();

    // A loaded machine can take longer than startApi's 15 s to start the API: then keep asking /health.
    await services.startApi({ env: simEnv }).catch(async (err: Error) => {
      if (!/did not answer/.test(err.message)) throw err;
      for (
        let i = 0;
        !(await fetch(`${services.baseUrl}/health`).then(
          (r) => r.ok,
          () => false,
        ));
        i++
      ) {
        if (i > 400) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    });
    const workerEnv = services.env({
      ...simEnv,
      WORKER_CONCURRENCY: String(args.concurrency),
      TIMING_RECORDING: recording,
      TIMING_SAMPLES: SAMPLES,
      TIMING_SCALE: String(args.scale),
      NODE_ENV: 'test',
    });
    const startWorker = (): WorkerProc => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/simulate-worker.ts'], { cwd: ROOT, env: workerEnv, stdio: ['ignore', 'pipe', 'inherit'] });
      const ready = new Promise<number>((resolve, reject) => {
        readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve(z.object({ ready: z.number() }).parse(JSON.parse(line)).ready));
        child.once('exit', (code) => reject(new Error(`a simulation worker exited before it was ready (code ${code})`)));
      });
      const w = { child, pid: child.pid!, ready };
      void ready.then(
        (at) => events.push({ kind: 'ready', at, pid: w.pid, slots: args.concurrency }),
        () => {},
      );
      workers.add(w);
      return w;
    };
    for (let i = 0; i < args.processes; i++) startWorker();
    await Promise.all([...workers].map((w) => w.ready));
    log(`${args.processes} workers × ${args.concurrency} slots ready; scale ${args.scale}`);

    let uploaded = 0;
    const failures: string[] = [];
    const retried: string[] = [];
    const upload = async (assessmentId: string): Promise<string | null> => {
      const n = uploaded++;
      const archive = await makeTarGz([
        { name: 'solution.py', data: solution },
        { name: 'NOTES.md', data: `simulated submission ${n}\n` },
      ]);
      const form = new FormData();
      form.append('archive', new Blob([new Uint8Array(archive)]), `sim-${n}.tar.gz`);
      // A 503 says when to come back (retryAfterSeconds): a client does, at most twice more.
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(`${services.baseUrl}/v1/assessments/${assessmentId}/submissions`, { method: 'POST', body: form, headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}` } });
        const body = (await res.json().catch(() => ({}))) as { submissionId?: string; error?: { details?: { retryAfterSeconds?: number } } };
        const retryAfterS = body.error?.details?.retryAfterSeconds;
        if (res.status === 503 && typeof retryAfterS === 'number' && attempt < 3) {
          retried.push(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
          await new Promise((r) => setTimeout(r, Math.min(retryAfterS, 30) * 1000));
          continue;
        }
        if (res.status !== 202 || !body.submissionId) {
          failures.push(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
          return null;
        }
        return body.submissionId;
      }
    };
    const uploadMany = async (count: number, pick: (i: number) => string, onProgress?: (done: number) => void) => {
      let next = 0;
      let done = 0;
      await Promise.all(
        Array.from({ length: Math.min(args.uploaders, count) }, async () => {
          while (next < count) {
            const i = next++;
            await upload(pick(i));
            onProgress?.(++done);
          }
        }),
      );
    };

    // 1. The flood, held back while it is uploaded, then the other assessment's single submission.
    await queue.pause();
    const tFlood = Date.now();
    await uploadMany(args.flood, () => FLOODED);
    log(`flood: ${args.flood} uploaded in ${((Date.now() - tFlood) / 1000).toFixed(1)} s; releasing`);
    await queue.resume();
    const slots = args.processes * args.concurrency;
    const deadline = Date.now() + 120_000;
    const floodDone = async () =>
      Number(
        (
          await services.db.query<{ n: string }>(`SELECT count(*) AS n FROM gradings g JOIN submissions s ON s.id = g.submission_id WHERE s.assessment_id = $1 AND g.status = 'completed'`, [
            FLOODED,
          ])
        ).rows[0]!.n,
      );
    while ((await floodDone()) < slots && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const probeId = await upload(OTHER);

    // 2. The bulk, both assessments, with kills at random moments (each killed worker replaced).
    const bulk = args.submissions - args.flood - 1;
    const killAt = Array.from({ length: args.kills }, () => Math.floor(bulk * (0.1 + 0.8 * Math.random()))).sort((a, b) => a - b);
    const tBulk = Date.now();
    await uploadMany(
      bulk,
      (i) => (i % 2 ? OTHER : FLOODED),
      (done) => {
        while (killAt.length && done >= killAt[0]!) {
          killAt.shift();
          const live = [...workers];
          const victim = live[Math.floor(Math.random() * live.length)]!;
          workers.delete(victim);
          victim.child.kill('SIGKILL');
          const at = Date.now();
          pidsKilled.push({ pid: victim.pid, at });
          events.push({ kind: 'killed', at, pid: victim.pid });
          startWorker();
          log(`killed worker ${victim.pid} after ${done} bulk uploads; started a replacement`);
        }
      },
    );
    log(`bulk: ${bulk} uploaded in ${((Date.now() - tBulk) / 1000).toFixed(1)} s (${failures.length} refused)`);

    // Wait for every grading to end (completed or failed for good).
    const total = uploaded - failures.length;
    const end = t0 + args['timeout-s'] * 1000;
    for (;;) {
      const { rows } = await services.db.query<{ done: string }>(`SELECT count(*) AS done FROM gradings WHERE status IN ('completed', 'failed')`);
      if (Number(rows[0]!.done) >= total) break;
      if (Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const tDone = Date.now();
    return await report({ services, queue, events, pidsKilled, failures, retried, uploaded, probeId, elapsedMs: tDone - t0, bulkMs: tDone - tBulk });
  } finally {
    await cleanUp();
  }
}

interface Finished {
  services: BenchServices;
  queue: Queue;
  events: SlotEvent[];
  pidsKilled: { pid: number; at: number }[];
  failures: string[];
  /** Uploads answered 503 with a time to come back, and sent again (each time). */
  retried: string[];
  uploaded: number;
  probeId: string | null;
  elapsedMs: number;
  bulkMs: number;
}

async function report(f: Finished): Promise<number> {
  const { rows } = await f.services.db.query<{
    submission_id: string;
    assessment_id: string;
    gradings: string;
    status: string | null;
    attempts: number | null;
    queued: number | null;
    started: number | null;
    finished: number | null;
    worker_host: string | null;
    reports: string;
  }>(
    `SELECT s.id AS submission_id, s.assessment_id, (SELECT count(*) FROM gradings x WHERE x.submission_id = s.id) AS gradings,
            g.status, g.attempts, extract(epoch FROM g.queued_at) * 1000 AS queued, extract(epoch FROM g.started_at) * 1000 AS started,
            extract(epoch FROM g.finished_at) * 1000 AS finished, g.worker_host,
            (SELECT count(*) FROM reports r WHERE r.grading_id = g.id) AS reports
       FROM submissions s LEFT JOIN LATERAL (SELECT * FROM gradings WHERE submission_id = s.id ORDER BY queued_at LIMIT 1) g ON true`,
  );
  const lost = rows.filter((r) => r.status !== 'completed' || Number(r.reports) === 0);
  const duplicates = rows.filter((r) => Number(r.reports) > 1 || Number(r.gradings) > 1);
  const failedJobs = await f.queue.getFailedCount();
  const pidOf = (host: string | null) => Number(host?.split('/').pop());
  const done = rows.filter((r) => r.status === 'completed' && r.started !== null && r.finished !== null);
  for (const r of done) {
    f.events.push({ kind: 'started', at: Number(r.started), pid: pidOf(r.worker_host), queuedAt: Number(r.queued), measured: r.attempts === 1 });
    f.events.push({ kind: 'finished', at: Number(r.finished), pid: pidOf(r.worker_host) });
  }
  const { overheadsMs, unmatched } = queueOverheads(f.events);
  const gradingMs = done.filter((r) => r.attempts === 1).map((r) => Number(r.finished) - Number(r.started));
  const retried = done.filter((r) => (r.attempts ?? 0) > 1);
  const firstKill = Math.min(...f.pidsKilled.map((k) => k.at));
  const recoveryMs = retried.map((r) => Number(r.started) - Math.max(...f.pidsKilled.filter((k) => k.at <= Number(r.started)).map((k) => k.at), firstKill));

  const probe = rows.find((r) => r.submission_id === f.probeId);
  const floodGradings = done.filter((r) => r.assessment_id === FLOODED && r.attempts === 1 && probe && Number(r.started) <= Number(probe.finished));
  const floodGradingMs = quantile(
    floodGradings.map((r) => Number(r.finished) - Number(r.started)),
    0.5,
  );
  const probeWaitMs = probe?.started ? Number(probe.started) - Number(probe.queued) : Number.NaN;
  // Fair order: once the probe is queued, the flood's waiting gradings start after it. Those that
  // started while it waited were already handed to a worker (at most one per slot), or jumped it.
  const floodStartedWhileProbeWaited = probe?.started
    ? done.filter((r) => r.assessment_id === FLOODED && Number(r.started) > Number(probe.queued) && Number(r.started) < Number(probe.started)).length
    : Number.NaN;
  const floodWaitingAtProbe = floodGradings.length
    ? done.filter((r) => r.assessment_id === FLOODED && probe && Number(r.queued) < Number(probe.queued) && Number(r.started) > Number(probe.started)).length
    : 0;

  const result = {
    at: new Date().toISOString(),
    params: args,
    machine: { cpus: os.cpus().length, loadavg: os.loadavg() },
    slots: args.processes * args.concurrency,
    submissions: rows.length,
    uploadsRefused: f.failures.length,
    uploadsRetriedAfter503: f.retried.length,
    ...(f.retried.length ? { firstRetryReason: f.retried[0] } : {}),
    lost: lost.length,
    duplicates: duplicates.length,
    failedJobs,
    killed: f.pidsKilled.length,
    replaced: f.pidsKilled.length,
    retriedAfterKill: retried.length,
    recoveryMs: { p50: quantile(recoveryMs, 0.5), max: recoveryMs.length ? Math.max(...recoveryMs) : null },
    gradingMs: { p50: quantile(gradingMs, 0.5), p99: quantile(gradingMs, 0.99) },
    queueOverheadMs: { n: overheadsMs.length, unmatched, p50: quantile(overheadsMs, 0.5), p99: quantile(overheadsMs, 0.99) },
    enqueueToStartMs: {
      p50: quantile(
        done.map((r) => Number(r.started) - Number(r.queued)),
        0.5,
      ),
      p99: quantile(
        done.map((r) => Number(r.started) - Number(r.queued)),
        0.99,
      ),
    },
    flood: { size: args.flood, probeWaitMs, floodGradingMedianMs: floodGradingMs, floodStillWaitingBehindProbe: floodWaitingAtProbe, floodStartedWhileProbeWaited },
    elapsedS: f.elapsedMs / 1000,
    throughputPerS: rows.length / (f.bulkMs / 1000),
  };
  const problems: string[] = [];
  if (f.failures.length) problems.push(`${f.failures.length} uploads refused, e.g. ${f.failures[0]}`);
  if (rows.length !== f.uploaded - f.failures.length) problems.push(`${rows.length} submissions stored for ${f.uploaded - f.failures.length} accepted uploads`);
  if (lost.length) problems.push(`${lost.length} submissions without a completed grading and its report`);
  if (duplicates.length) problems.push(`${duplicates.length} submissions graded or reported more than once`);
  if (!(probeWaitMs <= floodGradingMs)) problems.push(`the other assessment's submission waited ${probeWaitMs} ms behind the flood, more than one grading (${floodGradingMs} ms)`);
  if (floodWaitingAtProbe === 0) problems.push('the flood had drained before the other submission arrived: the fairness case was not exercised');
  if (!(floodStartedWhileProbeWaited <= result.slots))
    problems.push(`${floodStartedWhileProbeWaited} flood gradings started while the other assessment's submission waited: more than the ${result.slots} slots could already have taken`);
  await fsp.mkdir(path.dirname(args.out), { recursive: true });
  await fsp.writeFile(args.out, JSON.stringify({ ...result, problems }, null, 2));
  process.stdout.write(`${JSON.stringify({ ...result, problems }, null, 2)}\n`);
  for (const p of problems) log(`FAILED: ${p}`);
  return problems.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`error: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
