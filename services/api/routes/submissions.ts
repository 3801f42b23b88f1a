import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { GradingQueue } from '../../grading/grading-queue.ts';
import type { ReportRepository } from '../../reports/report-repository.ts';
import { SubmissionService, type SubmissionServiceDeps } from '../../submissions/submission-service.ts';
import { DomainError, NotFoundError, PayloadTooLargeError } from '../../errors.ts';
import { canSeeAssessment } from '../../auth/api-keys.ts';
import { errorSchema, submissionAcceptedSchema, submissionStatusSchema, uuid } from '../../http/schemas.ts';
import { requireRole } from '../../http/auth-plugin.ts';
import { ByteBoundedCache } from '../byte-bounded-cache.ts';

export type SubmissionRoutesDeps = SubmissionServiceDeps & {
  config: Pick<Config, 'REPORT_CACHE_BYTES' | 'UPLOAD_MAX_BYTES' | 'UPLOAD_RATE_PER_IP' | 'UPLOAD_TIMEOUT_MS'>;
  queue: Pick<GradingQueue, 'position'>;
  reports: ReportRepository;
};

export async function submissionRoutes(app: FastifyInstance, ctx: SubmissionRoutesDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const service = new SubmissionService(ctx);
  const multipartOverhead = 64 * 1024;
  const reportBodies = new ByteBoundedCache(ctx.config.REPORT_CACHE_BYTES);

  r.post(
    '/v1/assessments/:assessmentId/submissions',
    {
      preHandler: requireRole('admin', 'ci', 'reviewer'),
      config: { rateLimit: { max: ctx.config.UPLOAD_RATE_PER_IP, timeWindow: 60_000 } },
      // Refuse an announced over-size body before reading any of it.
      onRequest: async (req) => {
        const declared = Number(req.headers['content-length'] ?? 0);
        if (declared > ctx.config.UPLOAD_MAX_BYTES + multipartOverhead) throw new PayloadTooLargeError(ctx.config.UPLOAD_MAX_BYTES);
      },
      schema: {
        summary: 'Upload a submission archive (.zip or .tar.gz) for grading',
        description: 'multipart/form-data with one file field (the archive) and an optional "candidate" text field before it. Send an Idempotency-Key header to make retries safe.',
        tags: ['submissions'],
        params: z.object({ assessmentId: z.string().min(1).max(100) }),
        headers: z.object({ 'idempotency-key': z.string().min(8).max(200).optional() }).passthrough(),
        response: { 202: submissionAcceptedSchema, 400: errorSchema, 404: errorSchema, 413: errorSchema, 503: errorSchema },
      },
    },
    async (req, reply) => {
      const { assessmentId } = req.params;
      if (!canSeeAssessment(req.principal!, assessmentId)) throw new NotFoundError(`assessment "${assessmentId}"`);
      if (!req.isMultipart()) throw new DomainError('invalid_input', 'not_multipart', 'send the archive as multipart/form-data');
      const accepted = await withUploadDeadline(req, ctx.config.UPLOAD_TIMEOUT_MS, async (onPart) => {
        // One byte of slack: the blob store's own meter then rejects the body (413) before busboy
        // silently truncates it.
        const part = await req.file({ limits: { fileSize: ctx.config.UPLOAD_MAX_BYTES + 1, files: 1 } });
        if (!part) throw new DomainError('invalid_input', 'no_file', 'the request holds no file part');
        onPart(part.file);
        return service.accept({
          assessmentId,
          fileName: part.filename || 'archive',
          stream: part.file,
          candidate: fieldValue(part.fields.candidate),
          idempotencyKey: req.headers['idempotency-key'] ?? null,
        });
      });
      req.log.info({ submissionId: accepted.submission.id, gradingId: accepted.grading.id }, 'submission accepted');
      return reply.code(202).send({
        submissionId: accepted.submission.id,
        gradingId: accepted.grading.id,
        status: accepted.grading.status,
        statusUrl: `/v1/submissions/${accepted.submission.id}`,
        reportUrl: `/v1/submissions/${accepted.submission.id}/report`,
        duplicate: accepted.duplicate,
      });
    },
  );

  r.get(
    '/v1/submissions/:id',
    {
      preHandler: requireRole('admin', 'ci', 'reviewer'),
      schema: { summary: 'Status and phase of a submission', tags: ['submissions'], params: z.object({ id: uuid }), response: { 200: submissionStatusSchema, 404: errorSchema } },
    },
    async (req) => submissionStatus(ctx, req.params.id, (a) => canSeeAssessment(req.principal!, a)),
  );

  r.get(
    '/v1/submissions/:id/report',
    {
      preHandler: requireRole('admin', 'ci', 'reviewer'),
      schema: {
        summary: 'The latest graded report of a submission (JSON)',
        tags: ['reports'],
        params: z.object({ id: uuid }),
        querystring: z.object({ reportId: uuid.optional() }),
      },
    },
    async (req, reply) => {
      const found = await ctx.reports.served(req.params.id, req.query.reportId ?? null);
      if (!found || !canSeeAssessment(req.principal!, found.assessmentId)) throw new NotFoundError('submission');
      const report = found.report;
      if (!report) {
        const g = await ctx.submissions.latestGrading(req.params.id);
        throw new DomainError('not_found', 'report_not_ready', `no report yet: the grading is ${g?.status ?? 'unknown'} (${g?.phase ?? '-'})`);
      }
      // Reports are immutable: the id is a strong validator, and the response body can be kept.
      const etag = `"${report.id}"`;
      const validators = { etag, 'cache-control': 'private, no-cache' };
      if (matchesEtag(req.headers['if-none-match'], report.id)) return reply.code(304).headers(validators).send();
      let body = reportBodies.get(report.id);
      if (!body) {
        const json = await ctx.reports.documentJson(report.id);
        if (json === null) throw new NotFoundError('report');
        // The stored document with the two envelope fields in front.
        body = Buffer.from(`{"reportId":${JSON.stringify(report.id)},"createdAt":${JSON.stringify(report.createdAt)},${json.slice(1)}`);
        reportBodies.set(report.id, body);
      }
      return reply.headers(validators).type('application/json; charset=utf-8').send(body);
    },
  );

  r.post(
    '/v1/submissions/:id/gradings',
    {
      preHandler: requireRole('admin', 'reviewer'),
      schema: {
        summary: 'Grade a submission again after its grading failed for a system reason (the stored archive, a new grading)',
        tags: ['submissions'],
        params: z.object({ id: uuid }),
        response: { 202: z.object({ gradingId: uuid, status: z.string(), statusUrl: z.string() }), 404: errorSchema, 409: errorSchema, 503: errorSchema },
      },
    },
    async (req, reply) => {
      const sub = await ctx.submissions.getSubmission(req.params.id);
      if (!sub || !canSeeAssessment(req.principal!, sub.assessmentId)) throw new NotFoundError('submission');
      const grading = await service.retry(sub);
      req.log.info({ submissionId: sub.id, gradingId: grading.id, by: req.principal!.name }, 'grading started again');
      return reply.code(202).send({ gradingId: grading.id, status: grading.status, statusUrl: `/v1/submissions/${sub.id}` });
    },
  );

  r.get(
    '/v1/submissions/:id/reports',
    {
      preHandler: requireRole('admin', 'ci', 'reviewer'),
      schema: { summary: 'Report history of a submission, newest first', tags: ['reports'], params: z.object({ id: uuid }) },
    },
    async (req) => {
      const sub = await ctx.submissions.getSubmission(req.params.id);
      if (!sub || !canSeeAssessment(req.principal!, sub.assessmentId)) throw new NotFoundError('submission');
      return { reports: await ctx.reports.history(sub.id) };
    },
  );
}

/** If-None-Match against a report id: a list of tags, weak or strong (proxies weaken them), or "*". */
export function matchesEtag(header: string | undefined, id: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === `"${id}"`;
  });
}

export async function submissionStatus(ctx: SubmissionRoutesDeps, id: string, visible: (assessmentId: string) => boolean) {
  const found = await ctx.submissions.withLatestGrading(id);
  if (!found || !visible(found.submission.assessmentId)) throw new NotFoundError('submission');
  const { submission: sub, grading } = found;
  const g = grading!;
  const position = g.status === 'queued' ? await ctx.queue.position(g.id).catch(() => null) : null;
  return {
    id: sub.id,
    assessmentId: sub.assessmentId,
    fileName: sub.fileName,
    archiveSha256: sub.archiveSha256,
    createdAt: sub.createdAt,
    status: g.status,
    phase: g.phase,
    queuePosition: position,
    grading: { id: g.id, queuedAt: g.queuedAt, startedAt: g.startedAt, finishedAt: g.finishedAt, workerHost: g.workerHost, attempts: g.attempts, lastError: g.lastError },
    reportUrl: g.status === 'completed' ? `/v1/submissions/${sub.id}/report` : null,
  };
}

/**
 * Bounds the whole upload in time: a client that drips its body slowly gets a 408 and the
 * partial file is dropped by the blob store, instead of holding a connection and a temp file.
 */
export async function withUploadDeadline<T>(req: FastifyRequest, ms: number, fn: (onPart: (s: Readable) => void) => Promise<T>): Promise<T> {
  let part: Readable | null = null;
  const timer = setTimeout(() => {
    const err = new DomainError('timeout', 'upload_timeout', `the upload did not complete within ${Math.round(ms / 1000)} s`);
    if (part) part.destroy(err);
    else req.raw.destroy(err);
  }, ms);
  try {
    return await fn((s) => (part = s));
  } finally {
    clearTimeout(timer);
  }
}

function fieldValue(field: unknown): string | null {
  const f = Array.isArray(field) ? field[0] : field;
  return f && typeof f === 'object' && 'value' in f && typeof f.value === 'string' ? f.value : null;
}
