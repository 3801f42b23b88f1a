import path from 'node:path';
import zlib from 'node:zlib';
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../services/api/app.ts';
import type { Context } from '../../services/context.ts';
import { SubmissionService } from '../../services/submissions/submission-service.ts';
import { startGradingWorker } from '../../workers/grading-worker.ts';
import { reportDocumentSchema, type ReportDocument } from '../../services/reports/report-schema.ts';
import { ROOT, eventually, testContext } from '../support/context.ts';
import { makeTarGz, tarGzOfFolder, type TarEntrySpec } from '../support/archives.ts';
import { recordCase } from '../support/security-cases.ts';
import fs from 'node:fs';

const FIXTURES = path.join(ROOT, 'tests/fixtures/submissions/smoke');
let ctx: Context;
let worker: Awaited<ReturnType<typeof startGradingWorker>>;

beforeAll(async () => {
  ctx = await testContext({ PHASE_TIMEOUT_CAP_S: 8, SANDBOX_MEMORY_BYTES: 512 * 1024 * 1024, SANDBOX_TMPFS_BYTES: 64 * 1024 * 1024 });
  worker = await startGradingWorker(ctx);
});
afterAll(async () => {
  await worker.close();
  await ctx.close();
});

async function grade(archive: Buffer): Promise<ReportDocument> {
  const a = await new SubmissionService(ctx).accept({ assessmentId: 'smoke-binary', fileName: 'x.tar.gz', stream: Readable.from([archive]) });
  await eventually(async () => (await ctx.submissions.getGrading(a.grading.id))?.status === 'completed', 120_000);
  return reportDocumentSchema.parse((await ctx.reports.latest(a.submission.id))!.document);
}
const logText = (r: ReportDocument, phase: string) =>
  r.logs
    .filter((l) => l.phase === phase)
    .map((l) => l.stdout)
    .join('\n');

describe('hostile submissions inside real gradings', () => {
  it('case 9: the training container holds no holdout data; the prediction container holds no labels', async () => {
    const r = await grade(await tarGzOfFolder(path.join(FIXTURES, 'snoop')));
    const train = logText(r, 'train');
    const predict = logText(r, 'predict');
    // Training sees no data file but its own copy (in a folder only it can enter); the supervisor's
    // /in cannot be listed.
    expect(train).toMatch(/SNOOP\[train\] \[/);
    expect(train).not.toMatch(/holdout|label|reference|\/in\//);
    // Every prediction process sees its own input and model, under neutral names, and nothing else.
    const seen = predict.split('\n').filter((l) => l.startsWith('SNOOP[predict]'));
    expect(seen.length).toBeGreaterThan(5);
    for (const line of seen) expect(line).toMatch(/^SNOOP\[predict\] \['(\/tmp\/w-[0-9a-f]+)\/holdout\.csv', '\1\/model\.pkl'\]$/);
    expect(predict).not.toMatch(/labels|reference|train\.csv|prediction_time|as_recorded|\/in\//);
    recordCase(
      9,
      'search for holdout data during a real grading',
      `train: no data file but its own copy; predict: each of ${seen.length} processes sees only its own input and model (neutral names), no labels, no other variant`,
    );
  });

  it('case 13: a gzip bomb inside the submission is bounded by the sandbox limits', async () => {
    // ~1 GiB of zeros compresses to ~1 MiB: well under the upload limits, far over the sandbox's.
    const gz = zlib.createGzip({ level: 9 });
    const chunks: Buffer[] = [];
    gz.on('data', (c: Buffer) => chunks.push(c));
    const zeros = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < 64; i++) if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
    await new Promise((r) => gz.end(r));
    const entries: TarEntrySpec[] = [
      { name: 'solution.py', data: fs.readFileSync(path.join(FIXTURES, 'gz-bomb/solution.py')) },
      { name: 'bomb.csv.gz', data: Buffer.concat(chunks) },
    ];
    const t = Date.now();
    const r = await grade(await makeTarGz(entries));
    const res = r.checks.find((c) => c.id === 'sandbox.resources')!;
    const contract = r.checks.find((c) => c.id === 'contract.interface')!;
    // Either the memory limit kills it or pandas gives up: a graded outcome, never a worker crash.
    expect(res.status === 'fail' || contract.status === 'fail').toBe(true);
    expect(Date.now() - t).toBeLessThan(90_000);
    recordCase(13, 'gzip bomb inside the submission', `${res.status === 'fail' ? res.summary : contract.summary}`);
  });
});

describe('uploads over a real socket', () => {
  let app: FastifyInstance;
  let slowCtx: Context;
  beforeAll(async () => {
    slowCtx = await testContext({ UPLOAD_TIMEOUT_MS: 2_000 });
    app = await buildApp(slowCtx);
    await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    await slowCtx.close();
  });

  it('case 14: a very slow body times out and leaves nothing behind', async () => {
    const { port } = app.server.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const t = Date.now();
    socket.write(
      'POST /v1/assessments/smoke-binary/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-admin-key-0123456789\r\n' +
        'Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name="archive"; filename="a.zip"\r\n\r\nPK',
    );
    let response = '';
    socket.on('data', (d) => (response += d.toString()));
    await new Promise((r) => socket.once('close', r));
    const elapsed = Date.now() - t;
    expect(elapsed).toBeLessThan(8_000);
    expect(response === '' || /^HTTP\/1\.1 (408|400)/.test(response)).toBe(true);
    await eventually(async () => fs.readdirSync(path.join(slowCtx.config.DATA_DIR, 'blobs', 'tmp')).length === 0, 10_000).catch(() => {
      if (fs.existsSync(path.join(slowCtx.config.DATA_DIR, 'blobs', 'tmp'))) throw new Error('partial upload left behind');
    });
    recordCase(14, 'very slow body', `connection closed after ${elapsed} ms (${response.split('\r\n')[0] || 'no response'})`);
  });
});
