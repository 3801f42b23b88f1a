import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import { Readable } from 'node:stream';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../services/api/app.ts';
import type { Context } from '../../services/context.ts';
import { startGradingWorker } from '../../workers/grading-worker.ts';
import { startRegradeWorker } from '../../workers/regrade-worker.ts';
import { startWebhookWorker } from '../../workers/webhook-worker.ts';
import { ADMIN, ROOT, eventually, testContext } from '../support/context.ts';
import { throwawayDatabase } from '../support/throwaway-database.ts';
import { tarGzOfFolder } from '../support/archives.ts';
import { multipart } from '../support/multipart.ts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  signatureValid: boolean;
  answered: number;
}

/**
 * A webhook receiver on 127.0.0.1 that checks signatures on its own (HMAC-SHA256 of
 * "<timestamp>.<body>", fresh timestamp) and answers each idempotency key with the given
 * statuses in turn (the last one repeats).
 */
class Receiver {
  readonly requests: Received[] = [];
  secret = '';
  private readonly server: http.Server;
  private readonly seen = new Map<string, number>();

  constructor(private readonly statuses: number[]) {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const ts = String(req.headers['x-timestamp'] ?? '');
        const expected = `sha256=${crypto.createHmac('sha256', this.secret).update(`${ts}.${body}`).digest('hex')}`;
        const got = String(req.headers['x-signature'] ?? '');
        const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
        const signatureValid = fresh && got.length === expected.length && crypto.timingSafeEqual(Buffer.from(got), Buffer.from(expected));
        const key = String(req.headers['x-idempotency-key']);
        const n = this.seen.get(key) ?? 0;
        this.seen.set(key, n + 1);
        const answered = signatureValid ? this.statuses[Math.min(n, this.statuses.length - 1)]! : 401;
        this.requests.push({ headers: req.headers, body, signatureValid, answered });
        res.writeHead(answered, { 'content-type': 'text/plain' }).end(answered < 300 ? 'ok' : 'try again later');
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/grader`;
  }

  /** Requests that were accepted (2xx), per idempotency key. */
  accepted(key: string) {
    return this.requests.filter((r) => r.headers['x-idempotency-key'] === key && r.answered < 300);
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let db: Awaited<ReturnType<typeof throwawayDatabase>>;
let ctx: Context;
let app: FastifyInstance;
let workers: { close(): Promise<unknown> }[] = [];
const flaky = new Receiver([500, 503, 200]);
const broken = new Receiver([503]);
const otherTenant = new Receiver([200]);
const alerts = new Receiver([200]);
const hooks: Record<'flaky' | 'broken' | 'otherTenant', string> = {} as never;
let submissionId: string;
let reportId: string;

async function register(receiver: Receiver, body: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: ADMIN, payload: { url: await receiver.start(), ...body } });
  expect(res.statusCode).toBe(201);
  receiver.secret = res.json().secret;
  return res.json().id as string;
}

const deliveries = async (id: string) => (await app.inject({ url: `/v1/webhooks/${id}/deliveries`, headers: ADMIN })).json().deliveries;

beforeAll(async () => {
  db = await throwawayDatabase();
  ctx = await testContext({
    DATABASE_URL: db.url,
    PHASE_TIMEOUT_CAP_S: 30,
    SANDBOX_MEMORY_BYTES: 512 * 1024 * 1024,
    PUBLIC_URL: 'https://grader.example.test',
    WEBHOOK_ATTEMPTS: 3,
    WEBHOOK_BACKOFF_MS: 200,
    WEBHOOK_DISABLE_AFTER: 2,
    WEBHOOK_TIMEOUT_MS: 5_000,
    // The receivers listen on loopback, which only a listed host may reach (tests/integration/webhook-ssrf.test.ts).
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  });
  app = await buildApp(ctx);
  workers = [await startGradingWorker(ctx, { concurrency: 1 }), startRegradeWorker(ctx), startWebhookWorker(ctx)];
  hooks.flaky = await register(flaky, { assessmentIds: ['smoke-binary'], description: 'ATS integration' });
  hooks.broken = await register(broken, { assessmentIds: ['smoke-binary'] });
  hooks.otherTenant = await register(otherTenant, { assessmentIds: ['churn-messy-csv'] });
});

afterAll(async () => {
  for (const w of workers) await w.close();
  await app?.close();
  await Promise.all([flaky.stop(), broken.stop(), otherTenant.stop(), alerts.stop()]);
  await ctx?.regradeQueue.queue.obliterate({ force: true }).catch(() => {});
  await ctx?.webhookQueue.queue.obliterate({ force: true }).catch(() => {});
  await ctx?.close();
  await db?.drop();
});

describe('webhooks', () => {
  it('registration: the secret is shown once, bad URLs are refused, only admins may register', async () => {
    const list = (await app.inject({ url: '/v1/webhooks', headers: ADMIN })).json().webhooks;
    expect(list.map((w: { id: string }) => w.id).sort()).toEqual(Object.values(hooks).sort());
    expect(JSON.stringify(list)).not.toContain('whsec_');
    expect(list.find((w: { id: string }) => w.id === hooks.flaky)).toMatchObject({
      enabled: true,
      events: ['report.created', 'regrade.completed', 'grading.failed'],
      assessmentIds: ['smoke-binary'],
    });
    for (const url of ['ftp://127.0.0.1/x', 'not a url', 'http://user:pw@127.0.0.1/x']) {
      const res = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: ADMIN, payload: { url } });
      expect([url, res.statusCode]).toEqual([url, 400]);
    }
    const unlisted = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: ADMIN, payload: { url: 'https://hooks.example.com/x' } });
    expect([unlisted.statusCode, unlisted.json().error.code]).toEqual([400, 'webhook_host_not_allowed']);
    const unknown = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: ADMIN, payload: { url: 'http://127.0.0.1:9/x', assessmentIds: ['nope'] } });
    expect(unknown.statusCode).toBe(400);
    const ci = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: ADMIN, payload: { name: 'ci', role: 'ci', assessmentIds: null } });
    const asCi = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: `Bearer ${ci.json().key}` }, payload: { url: 'http://127.0.0.1:9/x' } });
    expect(asCi.statusCode).toBe(403);
  });

  it('a completed grading is posted, signed; a receiver failing twice gets it once, on the third attempt', async () => {
    const body = multipart({ name: 'good.tar.gz', data: await tarGzOfFolder(path.join(ROOT, 'tests/fixtures/submissions/smoke/good')) });
    const res = await app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/submissions', payload: body.payload, headers: { ...body.headers, ...ADMIN } });
    expect(res.statusCode).toBe(202);
    submissionId = res.json().submissionId;

    const [delivery] = await eventually(async () => {
      const d = await deliveries(hooks.flaky);
      return d.length === 1 && d[0].status !== 'pending' ? d : null;
    });
    expect(delivery).toMatchObject({ event: 'report.created', status: 'succeeded', attempts: 3, lastStatusCode: 200, lastError: null });
    expect(delivery.attemptLog.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 503, 200]);
    expect(delivery.attemptLog[0].error).toMatch(/HTTP 500: try again later/);

    const requests = flaky.requests.filter((r) => r.headers['x-idempotency-key'] === delivery.idempotencyKey);
    expect(requests).toHaveLength(3);
    expect(requests.every((r) => r.signatureValid)).toBe(true);
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    expect(flaky.accepted(delivery.idempotencyKey)).toHaveLength(1);
    const event = JSON.parse(requests[2]!.body);
    reportId = event.reportId;
    expect(event).toMatchObject({ event: 'report.created', source: 'grading', submissionId, assessmentId: 'smoke-binary', passed: true, score: 100, rubricVersion: 1, regradeId: null });
    expect(event.reportUrl).toBe(`https://grader.example.test/v1/submissions/${submissionId}/report?reportId=${event.reportId}`);
    expect(requests[0]!.headers).toMatchObject({ 'content-type': 'application/json', 'x-event': 'report.created', 'x-idempotency-key': `report:${event.reportId}` });
    expect(requests[2]!.headers['x-signature']).toMatch(/^sha256=[a-f0-9]{64}$/);
    // Another tenant's endpoint heard nothing.
    expect(otherTenant.requests).toEqual([]);
    expect(await deliveries(hooks.otherTenant)).toEqual([]);
  });

  it('a regrade posts its reports and its completion; an endpoint failing for good is disabled and says why', async () => {
    const start = await app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/regrades', headers: ADMIN, payload: { rubricVersion: 1 } });
    expect(start.statusCode).toBe(202);
    const regradeId = start.json().id;
    const done = await eventually(async () => {
      const d = await deliveries(hooks.flaky);
      return d.length === 3 && d.every((x: { status: string }) => x.status === 'succeeded') ? d : null;
    });
    const events = done.map((d: { idempotencyKey: string }) => JSON.parse(flaky.accepted(d.idempotencyKey)[0]!.body));
    const completed = events.find((e: { event: string }) => e.event === 'regrade.completed');
    expect(completed).toMatchObject({ regradeId, assessmentId: 'smoke-binary', rubricVersion: 1, path: 'rescore', total: 1, done: 1, failed: 0, flips: 0 });
    const rescored = events.find((e: { event: string; source?: string }) => e.event === 'report.created' && e.source === 'rescore');
    expect(rescored).toMatchObject({ submissionId, regradeId, gradingId: null, rubricVersion: 1 });
    expect(rescored.reportId).not.toBe(reportId);

    const endpoint = await eventually(async () => {
      const e = (await app.inject({ url: `/v1/webhooks/${hooks.broken}`, headers: ADMIN })).json();
      return e.enabled === false ? e : null;
    });
    expect(endpoint.disabledReason).toMatch(/^disabled after 2 deliveries in a row failed after every retry; last error: HTTP 503/);
    const log = await eventually(async () => {
      const d = await deliveries(hooks.broken);
      return d.length === 3 && d.every((x: { status: string }) => x.status !== 'pending') ? d : null;
    });
    expect(log.filter((d: { attempts: number; status: string }) => d.status === 'failed' && d.attempts === 3).length).toBeGreaterThanOrEqual(2);
    expect(broken.requests.every((r) => r.signatureValid)).toBe(true);

    // Once disabled, nothing more is sent to it; enabling it again resets the count.
    const sent = broken.requests.length;
    const again = await app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/regrades', headers: ADMIN, payload: { rubricVersion: 1 } });
    await eventually(async () => ((await deliveries(hooks.flaky)).filter((d: { status: string }) => d.status === 'succeeded').length === 5 ? true : null));
    expect((await app.inject({ url: `/v1/regrades/${again.json().id}`, headers: ADMIN })).json().status).toBe('completed');
    expect(broken.requests.length).toBe(sent);
    const enabled = await app.inject({ method: 'POST', url: `/v1/webhooks/${hooks.broken}/enable`, headers: ADMIN });
    expect(enabled.json()).toMatchObject({ enabled: true, consecutiveFailures: 0, disabledReason: null });
  });

  it('deleting an endpoint removes it and its log', async () => {
    expect((await app.inject({ method: 'DELETE', url: `/v1/webhooks/${hooks.otherTenant}`, headers: ADMIN })).statusCode).toBe(204);
    expect((await app.inject({ url: `/v1/webhooks/${hooks.otherTenant}`, headers: ADMIN })).statusCode).toBe(404);
    expect((await app.inject({ url: `/v1/webhooks/${hooks.otherTenant}/deliveries`, headers: ADMIN })).statusCode).toBe(404);
  });

  it('a grading that fails for a system reason is posted as grading.failed once; a reviewer grades it again from the stored archive', async () => {
    await register(alerts, { assessmentIds: ['smoke-binary'], events: ['grading.failed'] });
    // A submission whose stored archive goes missing before grading: the worker cannot grade it (system failure).
    const folder = await fsp.mkdtemp(path.join(os.tmpdir(), 'lost-'));
    await fsp.cp(path.join(ROOT, 'tests/fixtures/submissions/smoke/good'), folder, { recursive: true });
    await fsp.writeFile(path.join(folder, 'NOTES.md'), `unique ${crypto.randomUUID()}\n`);
    const blob = await ctx.blobs.put(Readable.from([await tarGzOfFolder(folder)]), 10 * 1024 * 1024);
    await fsp.rm(folder, { recursive: true });
    await fsp.rename(blob.path, `${blob.path}.aside`);
    const { submission } = await ctx.submissions.createSubmission({
      assessmentId: 'smoke-binary',
      archiveSha256: blob.sha256,
      archiveBytes: blob.bytes,
      archiveFormat: 'tar.gz',
      fileName: 'lost.tar.gz',
      candidate: null,
      inviteId: null,
    });
    const { grading } = await ctx.submissions.createGrading(submission.id, `initial:${submission.id}`, 'initial');
    await ctx.queue.enqueue(grading.id);

    const [received] = await eventually(async () => (alerts.requests.length ? alerts.requests : null), 30_000);
    const event = JSON.parse(received!.body);
    expect(received!.signatureValid).toBe(true);
    expect(event).toMatchObject({
      event: 'grading.failed',
      eventId: `grading-failed:${grading.id}`,
      submissionId: submission.id,
      gradingId: grading.id,
      assessmentId: 'smoke-binary',
      reason: 'initial',
    });
    expect(event.error).toMatch(/stored archive .* is missing/);
    expect(event.retryUrl).toBe(`https://grader.example.test/v1/submissions/${submission.id}/gradings`);
    const status = (await app.inject({ url: `/v1/submissions/${submission.id}`, headers: ADMIN })).json();
    expect(status).toMatchObject({ status: 'failed', reportUrl: null });

    const retryUrl = `/v1/submissions/${submission.id}/gradings`;
    // The archive is still missing: refused with the reason, nothing queued.
    const missing = await app.inject({ method: 'POST', url: retryUrl, headers: ADMIN });
    expect([missing.statusCode, missing.json().error.code]).toEqual([409, 'archive_missing']);
    // A CI key cannot start gradings; a key of another assessment does not see the submission.
    const ci = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: ADMIN, payload: { name: 'ci2', role: 'ci', assessmentIds: null } });
    expect((await app.inject({ method: 'POST', url: retryUrl, headers: { authorization: `Bearer ${ci.json().key}` } })).statusCode).toBe(403);
    const other = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: ADMIN, payload: { name: 'other', role: 'reviewer', assessmentIds: ['churn-messy-csv'] } });
    expect((await app.inject({ method: 'POST', url: retryUrl, headers: { authorization: `Bearer ${other.json().key}` } })).statusCode).toBe(404);

    await fsp.rename(`${blob.path}.aside`, blob.path);
    const first = await app.inject({ method: 'POST', url: retryUrl, headers: ADMIN });
    const second = await app.inject({ method: 'POST', url: retryUrl, headers: ADMIN });
    expect(first.statusCode).toBe(202);
    expect(second.json().gradingId).toBe(first.json().gradingId);
    const done = await eventually(async () => {
      const s = (await app.inject({ url: `/v1/submissions/${submission.id}`, headers: ADMIN })).json();
      return s.status === 'completed' ? s : null;
    });
    expect(done.grading.id).toBe(first.json().gradingId);
    const report = (await app.inject({ url: `/v1/submissions/${submission.id}/report`, headers: ADMIN })).json();
    expect(report).toMatchObject({ status: 'graded', passed: true, gradingId: first.json().gradingId });
    // Graded now: nothing to start again, and the failure was posted exactly once.
    expect((await app.inject({ method: 'POST', url: retryUrl, headers: ADMIN })).json().error.code).toBe('not_failed');
    expect(alerts.requests.filter((r) => JSON.parse(r.body).gradingId === grading.id)).toHaveLength(1);
  });
});
