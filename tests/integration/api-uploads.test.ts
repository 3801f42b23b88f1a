import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../services/api/app.ts';
import type { Context } from '../../services/context.ts';
import { ADMIN, listFiles, testContext } from '../support/context.ts';
import { makeZip } from '../support/zip-writer.ts';
import { makeTarGz } from '../support/archives.ts';
import { multipart } from '../support/multipart.ts';
import { recordCase } from '../support/security-cases.ts';

const SOLUTION = 'def train(p):\n    return 1\n\ndef predict(m, p):\n    return []\n';
let ctx: Context;
let app: FastifyInstance;
beforeAll(async () => {
  ctx = await testContext({ UPLOAD_MAX_BYTES: 256 * 1024, QUEUE_MAX_DEPTH: 3 });
  app = await buildApp(ctx);
});
afterAll(async () => {
  await app.close();
  await ctx.close();
});

const upload = (data: Buffer, name = 'submission.zip', headers: Record<string, string> = ADMIN, fields: Record<string, string> = {}) => {
  const body = multipart({ name, data }, fields);
  return app.inject({ method: 'POST', url: '/v1/assessments/smoke-binary/submissions', payload: body.payload, headers: { ...body.headers, ...headers } });
};
const storedBlobs = () => listFiles(path.join(ctx.config.DATA_DIR, 'blobs'));

describe('submission upload', () => {
  it('accepts an archive: 202, stored by sha256, recorded and queued', async () => {
    const res = await upload(makeZip([{ name: 'solution.py', data: SOLUTION }]), 'ok.zip', ADMIN, { candidate: 'Ada' });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body.statusUrl).toBe(`/v1/submissions/${body.submissionId}`);
    const status = await app.inject({ url: body.statusUrl, headers: ADMIN });
    expect(status.json()).toMatchObject({ status: 'queued', phase: 'queued', assessmentId: 'smoke-binary' });
    const sub = await ctx.submissions.getSubmission(body.submissionId);
    expect(storedBlobs()).toContain(path.join('sha256', sub!.archiveSha256.slice(0, 2), sub!.archiveSha256));
    const job = await ctx.queue.queue.getJob(body.gradingId);
    expect(job?.data).toEqual({ gradingId: body.gradingId });
    await job!.remove();
  });

  it('the same Idempotency-Key returns the same submission and queues one grading', async () => {
    const data = await makeTarGz([{ name: 'solution.py', data: SOLUTION + '# idem\n' }]);
    const headers = { ...ADMIN, 'idempotency-key': 'retry-key-12345678' };
    const a = (await upload(data, 's.tar.gz', headers)).json();
    const b = (await upload(data, 's.tar.gz', headers)).json();
    expect(b.submissionId).toBe(a.submissionId);
    expect(b.gradingId).toBe(a.gradingId);
    expect(b.duplicate).toBe(true);
    const { rows } = await ctx.db.query('SELECT count(*)::int AS n FROM gradings WHERE submission_id = $1', [a.submissionId]);
    expect(rows[0].n).toBe(1);
    await ctx.queue.queue.getJob(a.gradingId).then((j) => j?.remove());
  });

  const attacks: [string, () => Promise<Buffer>, string, RegExp][] = [
    ['zip traversal', async () => makeZip([{ name: '../../etc/cron.d/x', data: 'x' }]), 'zip', /path traversal/],
    ['zip absolute path', async () => makeZip([{ name: '/etc/passwd', data: 'x' }]), 'zip', /absolute path/],
    ['zip windows path', async () => makeZip([{ name: 'a\\..\\x', data: 'x' }]), 'zip', /backslash/],
    ['zip symlink', async () => makeZip([{ name: 'solution.py', data: '/etc/shadow', mode: 0o120777 }]), 'zip', /symbolic links/],
    [
      'zip duplicate names',
      async () =>
        makeZip([
          { name: 'a', data: '1' },
          { name: 'a', data: '2' },
        ]),
      'zip',
      /duplicate/,
    ],
    ['zip bomb (declared size)', async () => makeZip([{ name: 'x.csv', data: Buffer.alloc(10), deflate: true, declaredSize: 2 ** 31 }]), 'zip', /uncompressed size/],
    [
      'overlapping-entry zip bomb',
      async () =>
        makeZip(
          Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, data: Buffer.alloc(5000), deflate: true })),
          { overlapAllOnFirst: true },
        ),
      'zip',
      /overlaps/,
    ],
    [
      'tar hard link',
      () =>
        makeTarGz([
          { name: 'solution.py', data: 'x' },
          { name: 'h', type: 'link', linkname: 'solution.py' },
        ]),
      'tar.gz',
      /hard links/,
    ],
    ['tar symlink', () => makeTarGz([{ name: 'solution.py', type: 'symlink', linkname: '/etc/passwd' }]), 'tar.gz', /symbolic links/],
    ['tar device', () => makeTarGz([{ name: 'null', type: 'character-device' }]), 'tar.gz', /special entry/],
    ['not an archive', async () => Buffer.from('print("hello")\n'), 'zip', /not a .zip or .tar.gz/],
  ];
  it.each(attacks)('rejects %s with 400 naming the reason, storing nothing', async (_label, make, ext, reason) => {
    const before = storedBlobs();
    const res = await upload(await make(), `bad.${ext}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('archive_rejected');
    expect(res.json().error.message).toMatch(reason);
    expect(storedBlobs()).toEqual(before);
    recordCase(/bomb/.test(_label) ? 11 : 12, `upload: ${_label}`, `400 "${res.json().error.message}", nothing stored`);
  });

  it('refuses an announced over-size body with 413 before reading it', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/assessments/smoke-binary/submissions',
      headers: { ...ADMIN, 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(50 * 1024 * 1024) },
      payload: 'x',
    });
    expect(res.statusCode).toBe(413);
  });

  it('stops a streamed over-size file with 413 and leaves no partial file', async () => {
    const before = storedBlobs();
    const res = await upload(Buffer.alloc(300 * 1024, 7));
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('payload_too_large');
    expect(storedBlobs()).toEqual(before);
    recordCase(14, 'oversized body', '413 while streaming, no partial file left');
  });

  it('asks for an API key and never echoes internals', async () => {
    const res = await upload(makeZip([{ name: 'solution.py', data: SOLUTION }]), 'a.zip', {});
    expect(res.statusCode).toBe(401);
    const bad = await upload(makeZip([{ name: 'solution.py', data: SOLUTION }]), 'a.zip', { authorization: 'Bearer nope' });
    expect(bad.statusCode).toBe(401);
    expect(bad.body).not.toMatch(/at .*\.ts:\d+/);
  });

  it('404s an unknown assessment', async () => {
    const body = multipart({ name: 'a.zip', data: makeZip([{ name: 'solution.py', data: SOLUTION }]) });
    const res = await app.inject({ method: 'POST', url: '/v1/assessments/nope/submissions', payload: body.payload, headers: { ...body.headers, ...ADMIN } });
    expect(res.statusCode).toBe(404);
  });

  it('answers 503 with Retry-After when the queue is over its depth', async () => {
    for (let i = 0; i < 3; i++) await ctx.queue.queue.add('grade', { gradingId: crypto.randomUUID() }, { jobId: `filler-${i}` });
    const res = await upload(makeZip([{ name: 'solution.py', data: SOLUTION + '# full\n' }]));
    expect(res.statusCode).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    await ctx.queue.queue.obliterate({ force: true });
  });
});

describe('service endpoints', () => {
  it('deep health reports Postgres, Redis and Docker', async () => {
    const res = await app.inject({ url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json().checks).toMatchObject({ postgres: { ok: true }, redis: { ok: true }, docker: { ok: true } });
  });
  it('serves Prometheus metrics and the OpenAPI document', async () => {
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/grader_queue_jobs\{state="waiting"\}/);
    const doc = await app.inject({ url: '/docs/json' });
    expect(doc.json().paths['/v1/assessments/{assessmentId}/submissions']).toBeDefined();
  });
  it('the queue dashboard is admin-only', async () => {
    expect((await app.inject({ url: '/admin/queues' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/admin/queues', headers: ADMIN })).statusCode).toBe(200);
  });
});

describe('abuse', () => {
  it('rate-limits uploads per IP with 429 and Retry-After', async () => {
    const limited = await testContext({ UPLOAD_RATE_PER_IP: 3 });
    const a = await buildApp(limited);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const body = multipart({ name: 'x.zip', data: Buffer.from('not an archive') });
        const res = await a.inject({
          method: 'POST',
          url: '/v1/assessments/smoke-binary/submissions',
          payload: body.payload,
          headers: { ...body.headers, ...ADMIN },
          remoteAddress: '10.9.8.7',
        });
        codes.push(res.statusCode);
        if (res.statusCode === 429) expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
      expect(codes).toEqual([400, 400, 400, 429, 429]);
    } finally {
      await a.close();
      await limited.close();
    }
  });
});
