import { HARNESS_VERSION } from '../../services/grading/harness-output.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { stringify as toYaml } from 'yaml';
import { buildApp } from '../../services/api/app.ts';
import { OWNER } from '../../services/sandbox/docker-sandbox.ts';
import { reportDocumentSchema } from '../../services/reports/report-schema.ts';
import { parseRubric } from '../../services/rubrics/rubric-schema.ts';
import { scoreMeasurements } from '../../services/grading/scoring.ts';
import { startGradingWorker } from '../../workers/grading-worker.ts';
import { startRegradeWorker } from '../../workers/regrade-worker.ts';
import { startWebhookWorker } from '../../workers/webhook-worker.ts';
import { ADMIN, ROOT, eventually, testContext, type DockerContext } from '../support/context.ts';
import { throwawayDatabase } from '../support/throwaway-database.ts';
import { tarGzOfFolder } from '../support/archives.ts';
import { multipart } from '../support/multipart.ts';

const run = promisify(execFile);
const FIXTURES = path.join(ROOT, 'tests/fixtures/submissions/smoke');
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/**
 * The smoke rubric with "finds the churners" made critical. Measured minority recall of the
 * fixtures: good 0.80, recall-unweighted 0.57, recall-cautious 0.36. Under v1 (pass 0.5, warn 0.3)
 * all three pass; v2 moves only that check's thresholds (pass 0.65, warn 0.45): unweighted drops
 * to a warning (lower score, still passed), cautious fails a critical check (verdict flips).
 */
function rubric(thresholds: { pass: number; warn: number }) {
  const r = JSON.parse(fs.readFileSync(path.join(ROOT, 'assessments/smoke-binary/rubric.json'), 'utf8'));
  r.id = 'smoke-recall';
  r.checks['imbalance.minority_recall'] = { weight: 2, severity: 'critical', visibility: 'summary', thresholds };
  return r;
}
const V1 = rubric({ pass: 0.5, warn: 0.3 });
const V2 = rubric({ pass: 0.65, warn: 0.45 });

let db: Awaited<ReturnType<typeof throwawayDatabase>>;
let ctx: DockerContext;
let app: FastifyInstance;
let workers: { close(): Promise<unknown> }[] = [];
const keys: Record<'ci' | 'ciOther' | 'reviewer' | 'scopedAdmin', { id: string; key: string }> = {} as never;
const subs: Record<'good' | 'unweighted' | 'cautious', string> = {} as never;

/** Counts sandbox runs of this process (the worker runs in it) and reads Docker's own record. */
let sandboxRuns = 0;
async function containersCreatedBetween(since: Date, until: Date): Promise<string[]> {
  const stream = (await ctx.sandbox.docker.getEvents({
    since: Math.floor(since.getTime() / 1000),
    until: Math.ceil(until.getTime() / 1000) + 1,
    filters: JSON.stringify({ type: ['container'], event: ['create'], label: [`grader.owner=${OWNER}`] }),
  })) as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).id as string);
}

async function submit(fixture: string, key = ADMIN): Promise<string> {
  const body = multipart({ name: `${fixture}.tar.gz`, data: await tarGzOfFolder(path.join(FIXTURES, fixture)) }, { candidate: fixture });
  const res = await app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/submissions', payload: body.payload, headers: { ...body.headers, ...key } });
  expect(res.statusCode).toBe(202);
  return res.json().submissionId;
}

async function graded(submissionId: string) {
  await eventually(async () => {
    const s = (await app.inject({ url: `/v1/submissions/${submissionId}`, headers: ADMIN })).json();
    if (s.status === 'failed') throw new Error(`grading failed: ${s.grading.lastError}`);
    return s.status === 'completed';
  });
  return latestReport(submissionId);
}

async function latestReport(submissionId: string, headers = ADMIN) {
  const res = await app.inject({ url: `/v1/submissions/${submissionId}/report`, headers });
  expect(res.statusCode).toBe(200);
  return { reportId: res.json().reportId as string, ...reportDocumentSchema.parse(res.json()) };
}

async function finished(regradeId: string, headers = ADMIN) {
  return eventually(async () => {
    const res = await app.inject({ url: `/v1/regrades/${regradeId}`, headers });
    expect(res.statusCode).toBe(200);
    const g = res.json();
    return g.status === 'completed' || g.status === 'failed' ? g : null;
  });
}

async function pushRubric(body: unknown, key: { authorization: string }, type: 'json' | 'yaml' = 'json') {
  return app.inject({
    method: 'POST',
    url: '/v1/assessments/smoke-binary/rubrics',
    headers: { ...key, 'content-type': type === 'yaml' ? 'application/yaml' : 'application/json' },
    payload: type === 'yaml' ? toYaml(body) : JSON.stringify(body),
  });
}

beforeAll(async () => {
  db = await throwawayDatabase();
  ctx = await testContext({ DATABASE_URL: db.url, PHASE_TIMEOUT_CAP_S: 30, SANDBOX_MEMORY_BYTES: 512 * 1024 * 1024 });
  const original = ctx.sandbox.run.bind(ctx.sandbox);
  ctx.sandbox.run = (spec) => {
    sandboxRuns++;
    return original(spec);
  };
  app = await buildApp(ctx);
  workers = [await startGradingWorker(ctx, { concurrency: 1 }), startRegradeWorker(ctx), startWebhookWorker(ctx)];
  const make = async (name: string, role: string, assessmentIds: string[] | null) => {
    const res = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: ADMIN, payload: { name, role, assessmentIds } });
    expect(res.statusCode).toBe(201);
    return res.json();
  };
  keys.ci = await make('pipeline', 'ci', ['smoke-binary']);
  keys.ciOther = await make('other team pipeline', 'ci', ['churn-messy-csv']);
  keys.reviewer = await make('reviewer', 'reviewer', ['smoke-binary']);
  keys.scopedAdmin = await make('smoke admin', 'admin', ['smoke-binary']);
});

afterAll(async () => {
  for (const w of workers) await w.close();
  await app?.close();
  await ctx?.regradeQueue.queue.obliterate({ force: true }).catch(() => {});
  await ctx?.webhookQueue.queue.obliterate({ force: true }).catch(() => {});
  await ctx?.close();
  await db?.drop();
});

describe('versioned rubrics', () => {
  it('a pushed rubric is version 1; the same content again (YAML or JSON) is the same version', async () => {
    const first = await pushRubric(V1, bearer(keys.ci.key), 'yaml');
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ assessmentId: 'smoke-binary', version: 1, rubricId: 'smoke-recall', created: true });
    // Key order, YAML vs JSON and an omitted assessmentId do not make new content.
    const { assessmentId: _omitted, ...withoutAssessment } = V1;
    const again = await pushRubric(Object.fromEntries(Object.entries(withoutAssessment).reverse()), bearer(keys.ci.key));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ version: 1, created: false, contentSha256: first.json().contentSha256 });
    const one = await app.inject({ url: '/v1/assessments/smoke-binary/rubrics/1', headers: bearer(keys.reviewer.key) });
    expect(one.json().rubric.checks['imbalance.minority_recall'].thresholds).toEqual({ pass: 0.5, warn: 0.3 });
  });

  it.each([
    ['a threshold out of range', (r: any) => (r.checks['imbalance.minority_recall'].thresholds.pass = 1.5), 'checks.imbalance.minority_recall.thresholds.pass'],
    ['an unknown check id', (r: any) => (r.checks['leakage.crystal_ball'] = { weight: 1 }), 'checks.leakage.crystal_ball'],
    ['a negative weight', (r: any) => (r.checks['cv.used'].weight = -2), 'checks.cv.used.weight'],
    ['an unknown field', (r: any) => (r.checks['cv.used'].wieght = 2), 'checks.cv.used'],
    ['another assessment', (r: any) => (r.assessmentId = 'churn-messy-csv'), 'assessmentId'],
  ])('a rubric with %s is refused with the path of the bad field', async (_what, mutate, fieldPath) => {
    const bad = structuredClone(V2);
    mutate(bad);
    const res = await pushRubric(bad, bearer(keys.ci.key), 'yaml');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_rubric');
    expect(res.json().error.details.issues.map((i: { path: string }) => i.path)).toContain(fieldPath);
    expect(res.body).not.toMatch(/at .*\.ts:\d+/);
  });

  it('broken YAML is refused with its line, and nothing was stored', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/assessments/smoke-binary/rubrics',
      headers: { ...bearer(keys.ci.key), 'content-type': 'application/yaml' },
      payload: 'id: x\nchecks:\n  - [unclosed\n',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'invalid_yaml' });
    expect(res.json().error.message).toMatch(/line \d+/);
    const list = await app.inject({ url: '/v1/assessments/smoke-binary/rubrics', headers: bearer(keys.ci.key) });
    expect(list.json().versions.map((v: { version: number }) => v.version)).toEqual([1]);
  });
});

describe('regrades', () => {
  it('grades three submissions for real under rubric v1: all pass', async () => {
    subs.good = await submit('good', bearer(keys.ci.key));
    subs.unweighted = await submit('recall-unweighted', bearer(keys.ci.key));
    subs.cautious = await submit('recall-cautious', bearer(keys.ci.key));
    for (const id of Object.values(subs)) {
      const r = await graded(id);
      expect(r.provenance.rubricVersion).toBe(1);
      expect(r.passed).toBe(true);
    }
  });

  it('v2 changes only a threshold: the regrade rescores without any container, the diff lists exactly the flip, history keeps both', async () => {
    const pushed = await pushRubric(V2, bearer(keys.ci.key), 'yaml');
    expect(pushed.statusCode).toBe(201);
    expect(pushed.json().version).toBe(2);
    const before = { counts: await Promise.all(Object.values(subs).map(async (id) => (await app.inject({ url: `/v1/submissions/${id}/reports`, headers: ADMIN })).json().reports.length)) };
    const runsBefore = sandboxRuns;
    const since = new Date();

    const start = await app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/regrades', headers: bearer(keys.ci.key), payload: { rubricVersion: 2 } });
    expect(start.statusCode).toBe(202);
    expect(start.json()).toMatchObject({ assessmentId: 'smoke-binary', rubricVersion: 2, dryRun: false, statusUrl: `/v1/regrades/${start.json().id}` });
    const g = await finished(start.json().id, bearer(keys.ci.key));
    const until = new Date();

    expect(g).toMatchObject({ status: 'completed', path: 'rescore', total: 3, done: 3, failed: 0, counts: { rescored: 3, rerun: 0, pending: 0 } });
    expect(sandboxRuns).toBe(runsBefore);
    expect(await containersCreatedBetween(since, until)).toEqual([]);

    const rows = g.diff.rows as { submissionId: string; path: string; flip: string | null; scoreDelta: number; old: any; new: any }[];
    expect(rows.every((r) => r.path === 'rescore')).toBe(true);
    expect(rows.filter((r) => r.flip).map((r) => r.submissionId)).toEqual([subs.cautious]);
    expect(rows[0]).toMatchObject({ submissionId: subs.cautious, flip: 'pass_to_fail', old: { passed: true, rubricVersion: 1 }, new: { passed: false, rubricVersion: 2 } });
    const unweighted = rows.find((r) => r.submissionId === subs.unweighted)!;
    expect(unweighted).toMatchObject({ flip: null, old: { passed: true }, new: { passed: true } });
    expect(unweighted.scoreDelta).toBeLessThan(0);
    expect(rows.find((r) => r.submissionId === subs.good)).toMatchObject({ flip: null, scoreDelta: 0 });
    expect(g.diff.summary).toMatchObject({ total: 3, flips: 1, passToFail: 1, failToPass: 0, scoreChanged: 1, unchanged: 1 });

    // History: one more report per submission, the newest (rescored, no grading) is the default view.
    for (const [i, id] of Object.values(subs).entries()) {
      const history = (await app.inject({ url: `/v1/submissions/${id}/reports`, headers: ADMIN })).json().reports;
      expect(history).toHaveLength(before.counts[i]! + 1);
      expect(history.map((h: { rubricVersion: number }) => h.rubricVersion)).toEqual([2, 1]);
      expect(history[0].gradingId).toBeNull();
    }
    const latest = await latestReport(subs.cautious, bearer(keys.ci.key));
    expect(latest).toMatchObject({ gradingId: null, passed: false, provenance: { rubricId: 'smoke-recall', rubricVersion: 2 } });
    expect(latest.verdict).toMatch(/critical check\(s\) failed — finds the churners/);
    // The rescored document is exactly what scoring the stored measurements under v2 gives.
    const rescored = scoreMeasurements(latest.measurements, parseRubric(V2));
    expect(latest.checks).toEqual(rescored.checks);
    expect(latest.passed).toBe(rescored.passed);
    const history = (await app.inject({ url: `/v1/submissions/${subs.cautious}/reports`, headers: ADMIN })).json().reports;
    const v1 = await app.inject({ url: `/v1/submissions/${subs.cautious}/report?reportId=${history[1].id}`, headers: ADMIN });
    expect(v1.json()).toMatchObject({ passed: true, provenance: { rubricVersion: 1 } });
    expect(v1.json().measurements).toEqual(latest.measurements);
  });

  it('a dry run computes the diff and publishes nothing', async () => {
    const reportsBefore = (await ctx.db.query('SELECT count(*)::int AS n FROM reports')).rows[0].n;
    const start = await app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/regrades', headers: bearer(keys.ci.key), payload: { rubricVersion: 1, dryRun: true } });
    expect(start.statusCode).toBe(202);
    const g = await finished(start.json().id);
    expect(g).toMatchObject({ status: 'completed', dryRun: true, path: 'rescore', done: 3 });
    expect(g.diff.rows[0]).toMatchObject({ submissionId: subs.cautious, flip: 'fail_to_pass', new: { reportId: null, passed: true } });
    expect(g.diff.summary.flips).toBe(1);
    expect((await ctx.db.query('SELECT count(*)::int AS n FROM reports')).rows[0].n).toBe(reportsBefore);
    expect((await latestReport(subs.cautious)).provenance.rubricVersion).toBe(2);
  });

  it('a submission measured by another harness version is re-run in the sandbox with the regrade rubric; the others are rescored', async () => {
    // Append (reports are never edited) a report of `good` as an older harness would have made it.
    await ctx.db.query(
      `INSERT INTO reports (id, submission_id, grading_id, rubric_id, rubric_version, score, passed, document)
       SELECT gen_random_uuid(), submission_id, NULL, rubric_id, rubric_version, score, passed,
              jsonb_set(document, '{provenance,harnessVersion}', '"0.9.0"')
       FROM reports WHERE submission_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [subs.good],
    );
    const runsBefore = sandboxRuns;
    const start = await app.inject({
      method: 'POST',
      url: '/v1/assessments/smoke-binary/regrades',
      headers: { ...bearer(keys.ci.key), 'idempotency-key': 'regrade-mixed-0001' },
      payload: { rubricVersion: 2, submissionIds: [subs.good, subs.unweighted] },
    });
    expect(start.statusCode).toBe(202);
    const repeat = await app.inject({
      method: 'POST',
      url: '/v1/assessments/smoke-binary/regrades',
      headers: { ...bearer(keys.ci.key), 'idempotency-key': 'regrade-mixed-0001' },
      payload: { rubricVersion: 2, submissionIds: [subs.good, subs.unweighted] },
    });
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json().id).toBe(start.json().id);

    const g = await finished(start.json().id);
    expect(g).toMatchObject({ status: 'completed', path: 'mixed', total: 2, done: 2, counts: { rescored: 1, rerun: 1 } });
    const good = g.diff.rows.find((r: { submissionId: string }) => r.submissionId === subs.good);
    expect(good).toMatchObject({ path: 'sandbox', status: 'done', flip: null });
    expect(good.pathReason).toContain(`harness 0.9.0; the current harness is ${HARNESS_VERSION}`);
    expect(g.diff.rows.find((r: { submissionId: string }) => r.submissionId === subs.unweighted)).toMatchObject({ path: 'rescore' });
    expect(sandboxRuns).toBeGreaterThan(runsBefore);

    const latest = await latestReport(subs.good);
    expect(latest.gradingId).not.toBeNull();
    expect(latest.provenance).toMatchObject({ rubricVersion: 2, harnessVersion: HARNESS_VERSION });
    expect((await ctx.submissions.getGrading(latest.gradingId!))!.reason).toBe('regrade');
  });

  it('refuses a rubric version that does not exist and submissions of another assessment', async () => {
    const noVersion = await app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/regrades', headers: bearer(keys.ci.key), payload: { rubricVersion: 99 } });
    expect(noVersion.statusCode).toBe(400);
    expect(noVersion.json().error.code).toBe('unknown_rubric_version');
    const foreign = await app.inject({
      method: 'POST',
      url: '/v1/assessments/smoke-binary/regrades',
      headers: bearer(keys.ci.key),
      payload: { rubricVersion: 2, submissionIds: ['00000000-0000-4000-8000-000000000001'] },
    });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().error.code).toBe('unknown_submissions');
    const badBody = await app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/regrades', headers: bearer(keys.ci.key), payload: { rubricVersion: 'two', extra: 1 } });
    expect(badBody.statusCode).toBe(400);
  });
});

describe('API keys: roles and tenants', () => {
  it('a CI key cannot read anything of an assessment it was not given', async () => {
    const other = bearer(keys.ciOther.key);
    const { rows } = await ctx.db.query('SELECT id FROM regrades LIMIT 1');
    for (const url of [
      `/v1/submissions/${subs.good}/report`,
      `/v1/submissions/${subs.good}/reports`,
      `/v1/submissions/${subs.good}`,
      `/v1/assessments/smoke-binary/submissions`,
      `/v1/assessments/smoke-binary/rubrics`,
      `/v1/assessments/smoke-binary/rubrics/1`,
      `/v1/assessments/smoke-binary/regrades`,
      `/v1/regrades/${rows[0].id}`,
    ]) {
      const res = await app.inject({ url, headers: other });
      expect([url, res.statusCode]).toEqual([url, 404]);
      expect(res.body).not.toContain(subs.good.slice(0, 8) + '-');
    }
    expect((await pushRubric(V2, other)).statusCode).toBe(404);
    const regrade = await app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/regrades', headers: other, payload: { rubricVersion: 1 } });
    expect(regrade.statusCode).toBe(404);
    // The same key does see its own assessment.
    expect((await app.inject({ url: '/v1/assessments/churn-messy-csv/rubrics', headers: other })).statusCode).toBe(200);
  });

  it('every endpoint checks the role', async () => {
    const reviewer = bearer(keys.reviewer.key);
    const ci = bearer(keys.ci.key);
    expect((await pushRubric(V2, reviewer)).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/regrades', headers: reviewer, payload: { rubricVersion: 1 } })).statusCode).toBe(403);
    expect((await app.inject({ url: '/v1/assessments/smoke-binary/regrades', headers: reviewer })).statusCode).toBe(200);
    for (const [method, url] of [
      ['POST', '/v1/webhooks'],
      ['GET', '/v1/webhooks'],
      ['POST', '/v1/api-keys'],
      ['GET', '/v1/api-keys'],
      ['GET', '/admin/queues'],
    ] as const)
      expect([url, (await app.inject({ method, url, headers: ci, payload: method === 'POST' ? {} : undefined })).statusCode]).toEqual([url, 403]);
    expect((await app.inject({ url: '/v1/assessments/smoke-binary/rubrics' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/v1/assessments/smoke-binary/rubrics', headers: bearer('gk_nope_not-a-key') })).statusCode).toBe(401);
  });

  it('an admin key limited to some assessments cannot mint wider keys or see other keys', async () => {
    const scoped = bearer(keys.scopedAdmin.key);
    const wide = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: scoped, payload: { name: 'escalate', role: 'admin', assessmentIds: null } });
    expect(wide.statusCode).toBe(403);
    const other = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: scoped, payload: { name: 'x', role: 'ci', assessmentIds: ['churn-messy-csv'] } });
    expect(other.statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: scoped, payload: { name: 'smoke ci', role: 'ci', assessmentIds: ['smoke-binary'] } });
    expect(ok.statusCode).toBe(201);
    const listed = (await app.inject({ url: '/v1/api-keys', headers: scoped })).json().keys.map((k: { id: string }) => k.id);
    expect(listed).toContain(ok.json().id);
    expect(listed).not.toContain(keys.ciOther.id);
    expect((await app.inject({ method: 'DELETE', url: `/v1/api-keys/${keys.ciOther.id}`, headers: scoped })).statusCode).toBe(404);
    expect((await app.inject({ url: '/admin/queues', headers: scoped })).statusCode).toBe(403);
    const unknown = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: ADMIN, payload: { name: 'x', role: 'ci', assessmentIds: ['no-such-assessment'] } });
    expect(unknown.statusCode).toBe(400);
  });
});

describe('CLI for pipelines', () => {
  let url: string;
  let dir: string;
  beforeAll(async () => {
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grader-cli-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cli = (args: string[], key = keys.ci.key) =>
    run('node', ['bin/grader.js', ...args], { cwd: ROOT, env: { ...process.env, GRADER_URL: url, GRADER_API_KEY: key, LOG_LEVEL: 'silent' } }).then(
      (r) => ({ code: 0, ...r }),
      (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
    );

  it('grader rubric push: the same file is the same version', async () => {
    fs.writeFileSync(path.join(dir, 'v1.yaml'), toYaml(V1));
    const res = await cli(['rubric', 'push', path.join(dir, 'v1.yaml')]);
    expect(res).toMatchObject({ code: 0 });
    expect(res.stdout).toMatch(/smoke-binary: rubric smoke-recall is version 1 \(same content/);
    const bad = structuredClone(V1);
    bad.checks['imbalance.minority_recall'].thresholds.warn = -1;
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(bad));
    const refused = await cli(['rubric', 'push', path.join(dir, 'bad.json')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('checks.imbalance.minority_recall.thresholds.warn:');
  });

  it('grader regrade --dry-run --wait: JUnit with the flip as a failure, a Markdown summary, exit 3 with --fail-on-flip', async () => {
    const junit = path.join(dir, 'out', 'regrade.xml');
    const res = await cli(['regrade', '--assessment', 'smoke-binary', '--rubric', path.join(dir, 'v1.yaml'), '--dry-run', '--wait', '--junit', junit, '--format', 'md', '--fail-on-flip']);
    expect(res.stderr).toMatch(/rubric v1\.yaml: version 1 \(unchanged\)/);
    expect(res.code).toBe(3);
    expect(res.stdout).toMatch(/^### Rubric regrade: `smoke-binary` → v1 \(dry run, nothing published\)/);
    expect(res.stdout).toContain('**1 verdict flipped** (0 passed → not passed, 1 not passed → passed) among 3 submissions');
    const xml = fs.readFileSync(junit, 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml).toMatch(/<testsuite [^>]*tests="3" failures="1" errors="0"/);
    expect(xml).toMatch(new RegExp(`name="${subs.cautious} recall-cautious[^"]*" time="0">\\s*<failure type="verdict_flip" message="verdict flipped: not passed -&gt; passed"`));
    // Without --fail-on-flip the same result exits 0, and usage errors exit 2.
    expect((await cli(['regrade', '--assessment', 'smoke-binary', '--rubric-version', '1', '--dry-run', '--format', 'json'])).code).toBe(0);
    expect((await cli(['regrade', '--rubric-version', '1'])).code).toBe(2);
  });

  it('a revoked key is refused', async () => {
    expect((await cli(['regrade', '--assessment', 'smoke-binary', '--rubric-version', '1', '--dry-run'])).code).toBe(0);
    expect((await app.inject({ method: 'DELETE', url: `/v1/api-keys/${keys.ci.id}`, headers: ADMIN })).statusCode).toBe(204);
    const res = await cli(['regrade', '--assessment', 'smoke-binary', '--rubric-version', '1', '--dry-run']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/revoked/);
    const api = await app.inject({ url: `/v1/submissions/${subs.good}/report`, headers: bearer(keys.ci.key) });
    expect(api.statusCode).toBe(401);
    expect(api.json().error.message).toMatch(/revoked/);
  });
});
