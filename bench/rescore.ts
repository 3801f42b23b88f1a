/**
 * Benchmark: a rescore-only regrade of N stored submissions (default 10,000).
 *
 *   npx tsx bench/rescore.ts [--count 10000] [--repeat 1] [--report report.json] [--keep]
 *
 * Works in a throwaway database on the configured Postgres server (DATABASE_URL names the server;
 * the database is created and dropped) and its own queue prefix. Seeds N submissions whose
 * reports are copies of one real report document (graded here in the sandbox from the `good`
 * smoke fixture, or read from --report) with varied measurements, then times a regrade to a
 * rubric version that moves two thresholds: POST → regrade job → completed, through BullMQ.
 * Not part of the test suite.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { QueueEvents } from 'bullmq';
import { loadConfig } from '../services/config.ts';
import { createContext, redisConnection } from '../services/context.ts';
import { migrate } from '../services/db/migrate.ts';
import { reportDocumentSchema, type ReportDocument } from '../services/reports/report-schema.ts';
import { RegradeService } from '../services/regrades/regrade-service.ts';
import { WebhookService } from '../services/webhooks/webhook-service.ts';
import { startRegradeWorker } from '../workers/regrade-worker.ts';
import { tarGzOfFolder } from '../tests/support/archives.ts';
import { throwawayDatabase } from '../tests/support/throwaway-database.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { count: { type: 'string', default: '10000' }, repeat: { type: 'string', default: '1' }, report: { type: 'string' }, keep: { type: 'boolean', default: false } },
});
const count = Number(values.count);

const base = process.env.DATABASE_URL ?? 'postgres://grader@127.0.0.1:55432/grader';
const database = await throwawayDatabase(base);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'grader-bench-'));
const config = loadConfig(process.env, {
  DATABASE_URL: database.url,
  QUEUE_PREFIX: `bench-rescore-${crypto.randomBytes(4).toString('hex')}`,
  DATA_DIR: dataDir,
  DATASET_CACHE_DIR: process.env.DATASET_CACHE_DIR ?? path.join(ROOT, '.data', 'datasets'),
  ASSESSMENTS_DIR: path.join(ROOT, 'assessments'),
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
});
const ctx = createContext(config, 'bench');
const say = (s: string) => process.stdout.write(`${s}\n`);

try {
  await migrate(ctx.db);
  const assessmentId = 'smoke-binary';
  const v1 = await ctx.rubrics.latest(assessmentId);

  // One real report document.
  let doc: ReportDocument;
  if (values.report) doc = reportDocumentSchema.parse(JSON.parse(fs.readFileSync(values.report, 'utf8')));
  else {
    const archive = path.join(dataDir, 'good.tar.gz');
    fs.writeFileSync(archive, await tarGzOfFolder(path.join(ROOT, 'tests/fixtures/submissions/smoke/good')));
    const t = performance.now();
    doc = await ctx.grader.grade({
      gradingId: crypto.randomUUID(),
      submissionId: crypto.randomUUID(),
      assessmentId,
      archivePath: archive,
      archiveSha256: crypto.createHash('sha256').update(fs.readFileSync(archive)).digest('hex'),
      rubric: v1.rubric,
      rubricVersion: v1.version,
    });
    say(`graded the good fixture in the sandbox for a real report document (${Math.round(performance.now() - t)} ms)`);
  }
  doc = { ...doc, gradingId: null, assessmentId, provenance: { ...doc.provenance, rubricId: v1.rubric.id, rubricVersion: v1.version } };
  say(`report document: ${JSON.stringify(doc).length} bytes as JSON, ${Object.keys(doc.measurements).length} measurements`);

  // N submissions, each with a copy of that report and its own measurements.
  let t = performance.now();
  await ctx.db.query(
    `WITH s AS (
       INSERT INTO submissions (id, assessment_id, archive_sha256, archive_bytes, archive_format, file_name, candidate)
       SELECT gen_random_uuid(), $2, encode(sha256(convert_to('bench ' || i, 'UTF8')), 'hex'), 1000, 'tar.gz', 'bench-' || i || '.tar.gz', 'bench ' || i
       FROM generate_series(1, $1) AS i RETURNING id)
     INSERT INTO reports (id, submission_id, grading_id, rubric_id, rubric_version, score, passed, document)
     SELECT gen_random_uuid(), s.id, NULL, $4, $5, $6, $7,
            jsonb_set(jsonb_set(jsonb_set($3::jsonb,
              '{submissionId}', to_jsonb(s.id::text)),
              '{measurements,imbalance.minority_recall,values,recall}', to_jsonb(round(random()::numeric, 4))),
              '{measurements,cv.stratified,values,maxRelativeDeviation}', to_jsonb(round((random() * 0.6)::numeric, 4)))
     FROM s`,
    [count, assessmentId, JSON.stringify(doc), v1.rubric.id, v1.version, doc.score, doc.passed],
  );
  await ctx.db.query('VACUUM ANALYZE reports');
  await ctx.db.query('ANALYZE submissions');
  const size = (await ctx.db.query(`SELECT pg_size_pretty(pg_total_relation_size('reports')) AS s`)).rows[0].s;
  say(`seeded ${count} submissions with stored reports in ${Math.round(performance.now() - t)} ms (reports table: ${size})`);

  // v2 moves thresholds only: every stored report can be rescored without a container.
  const next = structuredClone(v1.rubric);
  next.checks['imbalance.minority_recall'] = { ...next.checks['imbalance.minority_recall']!, severity: 'critical', thresholds: { pass: 0.6, warn: 0.4 } };
  next.checks['cv.stratified'] = { ...next.checks['cv.stratified']!, thresholds: { warnAbove: 0.2, failAbove: 0.3 } };
  const v2 = await ctx.rubrics.push(next, 'bench');

  const worker = startRegradeWorker(ctx);
  const eventsConnection = redisConnection(config.REDIS_URL);
  const events = new QueueEvents('regrade', { connection: eventsConnection, prefix: config.QUEUE_PREFIX });
  await events.waitUntilReady();
  const service = new RegradeService(ctx, new WebhookService(ctx));
  const admin = { keyId: null, name: 'bench', role: 'admin' as const, assessmentIds: null };
  // A dry run, then real regrades alternating v2 and v1 (each run publishes N new reports).
  const runs = [{ dryRun: true, version: v2.version }, ...Array.from({ length: Number(values.repeat) }, (_, i) => ({ dryRun: false, version: i % 2 ? v1.version : v2.version }))];
  for (const { dryRun, version } of runs) {
    t = performance.now();
    const cpu = process.cpuUsage();
    const { regrade } = await service.start(admin, assessmentId, { rubricVersion: version, dryRun }, null);
    const job = (await ctx.regradeQueue.queue.getJob(regrade.id))!;
    await job.waitUntilFinished(events, 120_000);
    const total = performance.now() - t;
    const used = process.cpuUsage(cpu);
    const done = await service.get(admin, regrade.id, { offset: 0, limit: 1 });
    const published = (await ctx.db.query('SELECT count(*)::int AS n FROM reports WHERE regrade_id = $1', [regrade.id])).rows[0].n;
    say(
      `${dryRun ? 'dry run' : 'regrade'} to v${version}: ${done.status}, path ${done.path}, ${done.done}/${done.total} done, ${done.diff?.summary.flips} flips, ` +
        `${published} reports published — ${Math.round(total)} ms end to end (rescoring ${done.rescoreMs} ms; this process used ${Math.round((used.user + used.system) / 1000)} ms CPU; load ${os.loadavg()[0]!.toFixed(1)})`,
    );
    if (done.path !== 'rescore' || done.done !== count) throw new Error('the benchmark regrade did not rescore every submission');
  }
  await events.close();
  eventsConnection.disconnect();
  await worker.close();
} finally {
  for (const q of [ctx.queue.queue, ctx.regradeQueue.queue, ctx.webhookQueue.queue]) await q.obliterate({ force: true }).catch(() => {});
  await ctx.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (!values.keep) await database.drop();
  else say(`kept database ${new URL(database.url).pathname.slice(1)}`);
}
