import { HARNESS_VERSION } from '../../services/grading/harness-output.ts';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../services/api/app.ts';
import { startGradingWorker } from '../../workers/grading-worker.ts';
import { reportDocumentSchema } from '../../services/reports/report-schema.ts';
import { ADMIN, ROOT, eventually, testContext, type DockerContext } from '../support/context.ts';
import { tarGzOfFolder } from '../support/archives.ts';
import { recordCase } from '../support/security-cases.ts';
import { multipart } from '../support/multipart.ts';

const run = promisify(execFile);
const FIXTURES = path.join(ROOT, 'tests/fixtures/submissions/smoke');
let ctx: DockerContext;
let app: FastifyInstance;
let worker: Awaited<ReturnType<typeof startGradingWorker>>;

beforeAll(async () => {
  ctx = await testContext({ PHASE_TIMEOUT_CAP_S: 6, SANDBOX_MEMORY_BYTES: 512 * 1024 * 1024, SANDBOX_PIDS: 96 });
  app = await buildApp(ctx);
  worker = await startGradingWorker(ctx, { concurrency: 1 });
});
afterAll(async () => {
  await worker.close();
  await app.close();
  await ctx.close();
});

async function submit(fixture: string): Promise<{ submissionId: string; gradingId: string }> {
  const body = multipart({ name: `${fixture}.tar.gz`, data: await tarGzOfFolder(path.join(FIXTURES, fixture)) });
  const res = await app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/submissions', payload: body.payload, headers: { ...body.headers, ...ADMIN } });
  expect(res.statusCode).toBe(202);
  return res.json();
}

async function reportOf(submissionId: string) {
  await eventually(async () => {
    const s = (await app.inject({ url: `/v1/submissions/${submissionId}`, headers: ADMIN })).json();
    if (s.status === 'failed') throw new Error(`grading failed: ${s.grading.lastError}`);
    return s.status === 'completed';
  });
  const res = await app.inject({ url: `/v1/submissions/${submissionId}/report`, headers: ADMIN });
  expect(res.statusCode).toBe(200);
  return reportDocumentSchema.parse(res.json());
}
const check = (r: { checks: { id: string; status: string; summary: string }[] }, id: string) => r.checks.find((c) => c.id === id)!;

describe('end to end: API → Redis → worker → Docker → Postgres', () => {
  it('grades an uploaded archive and serves its report and status stamps', async () => {
    const { submissionId, gradingId } = await submit('good');
    const report = await reportOf(submissionId);
    expect(report.status).toBe('graded');
    expect(report.passed).toBe(true);
    expect(report.checks.every((c) => c.status === 'pass')).toBe(true);
    expect(report.metrics.holdout?.rocAuc).toBeGreaterThan(0.75);
    expect(report.provenance).toMatchObject({ assessmentId: 'smoke-binary', datasetVersion: '1.0.0', rubricVersion: 1, harnessVersion: HARNESS_VERSION });
    expect(report.provenance.runnerImageDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
    const status = (await app.inject({ url: `/v1/submissions/${submissionId}`, headers: ADMIN })).json();
    expect(status.grading).toMatchObject({ id: gradingId, attempts: 1 });
    expect(Date.parse(status.grading.startedAt)).toBeGreaterThanOrEqual(Date.parse(status.grading.queuedAt));
    expect(Date.parse(status.grading.finishedAt)).toBeGreaterThan(Date.parse(status.grading.startedAt));
    expect(status.grading.workerHost).toMatch(/\/\d+$/);
    expect((await ctx.sandbox.listManaged()).filter((c) => c.gradingId === gradingId)).toEqual([]);
  });

  it('serves the stored report as stored, with its id as ETag; a stored document that fails the schema is not served', async () => {
    const { submissionId } = await submit('good');
    const report = await reportOf(submissionId);
    const url = `/v1/submissions/${submissionId}/report`;
    const res = await app.inject({ url, headers: ADMIN });
    const stored = (await ctx.db.query('SELECT id, created_at, document FROM reports WHERE submission_id = $1', [submissionId])).rows[0];
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ reportId: stored.id, createdAt: stored.created_at.toISOString(), ...stored.document });
    expect(report.checks.length).toBeGreaterThan(0);
    // Reports are immutable: a client holding the current one gets 304 and no body.
    expect(res.headers.etag).toBe(`"${stored.id}"`);
    const again = await app.inject({ url, headers: { ...ADMIN, 'if-none-match': res.headers.etag as string } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers.etag).toBe(res.headers.etag);
    const weak = await app.inject({ url, headers: { ...ADMIN, 'if-none-match': `"stale", W/${res.headers.etag}` } });
    expect(weak.statusCode).toBe(304);
    // A report of another submission is not served under this one.
    const other = await submit('good');
    await reportOf(other.submissionId);
    const foreign = await app.inject({ url: `/v1/submissions/${other.submissionId}/report?reportId=${stored.id}`, headers: ADMIN });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe('report_not_ready');
    // A newer report whose stored document does not match the schema (a bad migration, a hand
    // edit) is refused with a 500, not passed on.
    await ctx.db.query(
      `INSERT INTO reports (id, submission_id, grading_id, rubric_id, rubric_version, score, passed, document)
       SELECT gen_random_uuid(), submission_id, NULL, rubric_id, rubric_version, score, passed, '{"bogus": "not a report"}'::jsonb
       FROM reports WHERE id = $1`,
      [stored.id],
    );
    const broken = await app.inject({ url, headers: ADMIN });
    expect(broken.statusCode).toBe(500);
    expect(broken.body).not.toContain('not a report');
    expect(broken.headers.etag).toBeUndefined();
    expect((await app.inject({ url: `${url}?reportId=${stored.id}`, headers: ADMIN })).statusCode).toBe(200);
  });

  it('a repeated enqueue of the same grading does not grade twice', async () => {
    const { submissionId, gradingId } = await submit('good');
    await reportOf(submissionId);
    await ctx.queue.enqueue(gradingId);
    await ctx.queue.queue.add('grade', { gradingId }, { jobId: `${gradingId}-again` });
    await eventually(async () => (await ctx.queue.depth()) === 0);
    expect(await ctx.reports.countForGrading(gradingId)).toBe(1);
    expect((await ctx.submissions.getGrading(gradingId))!.attempts).toBe(1);
    recordCase(16, 'the same grading enqueued twice', 'one grading attempt, one report');
  });

  it.each([
    ['sleep-forever', /exceeded its time limit/],
    ['memory-bomb', /memory limit of 512 MB/],
    ['fork-bomb', /limit of 96 processes/],
    ['stdout-flood', /exceeded its time limit/],
  ])('%s ends with its own outcome, graded, and the next grading still works', async (fixture, cause) => {
    const report = await reportOf((await submit(fixture)).submissionId);
    const res = check(report, 'sandbox.resources');
    expect(res.status).toBe('fail');
    expect(res.summary).toMatch(cause);
    expect(report.passed).toBe(false);
    if (fixture === 'stdout-flood') {
      const log = report.logs.find((l) => l.phase === 'train')!;
      expect(log.truncated).toBe(true);
      expect(log.stdoutBytes).toBeGreaterThan(1_000_000);
      expect(Buffer.byteLength(log.stdout)).toBeLessThan(64 * 1024);
    }
    const next = await reportOf((await submit('good')).submissionId);
    expect(next.passed).toBe(true);
  });
});

describe('CLI', () => {
  it('grades a folder through the same pipeline and prints only the report', async () => {
    const env = { ...process.env, LOG_LEVEL: 'silent', DATASET_CACHE_DIR: ctx.config.DATASET_CACHE_DIR, DATA_DIR: ctx.config.DATA_DIR };
    const { stdout } = await run('node', ['bin/grader.js', 'grade', path.join(FIXTURES, 'good'), '--assessment', 'smoke-binary', '--format', 'json'], {
      cwd: ROOT,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
    const report = reportDocumentSchema.parse(JSON.parse(stdout));
    expect(report.passed).toBe(true);
    const md = await run('node', ['bin/grader.js', 'grade', path.join(FIXTURES, 'memory-bomb'), '--assessment', 'smoke-binary', '--format', 'md'], {
      cwd: ROOT,
      env: { ...env, PHASE_TIMEOUT_CAP_S: '6' },
    });
    expect(md.stdout).toMatch(/^# Grading report: smoke-binary/);
    expect(md.stdout).toMatch(/sandbox\.resources.*FAIL/);
  });

  it('exits non-zero only when the grader itself cannot run', async () => {
    const err = await run('node', ['bin/grader.js', 'grade', '/no/such/path', '--assessment', 'smoke-binary'], { cwd: ROOT }).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stdout).toBe('');
    expect(err.stderr).toMatch(/no such file/i);
  });
});
