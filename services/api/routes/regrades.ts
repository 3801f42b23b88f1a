import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RegradeService, type RegradeServiceDeps } from '../../regrades/regrade-service.ts';
import { WebhookService, type WebhookServiceDeps } from '../../webhooks/webhook-service.ts';
import { regradeSchema, regradeWithDiffSchema, startRegradeSchema } from '../../regrades/regrade-schema.ts';
import { requireRole } from '../../http/auth-plugin.ts';
import { errorSchema, uuid } from '../../http/schemas.ts';

/** Regrades: start (admin, ci), follow and read the diff (any role, within its assessments). */
export type RegradeRoutesDeps = RegradeServiceDeps & WebhookServiceDeps;

export async function regradeRoutes(app: FastifyInstance, ctx: RegradeRoutesDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const service = new RegradeService(ctx, new WebhookService(ctx));

  r.post(
    '/v1/assessments/:assessmentId/regrades',
    {
      onRequest: requireRole('admin', 'ci'),
      schema: {
        summary: 'Regrade submissions with a rubric version',
        description:
          'Rescores from stored measurements (no container) when harness and dataset are unchanged, re-runs the sandbox otherwise; the regrade records which. dryRun computes the diff and publishes nothing. Send an Idempotency-Key header to make retries safe.',
        tags: ['regrades'],
        params: z.object({ assessmentId: z.string().min(1).max(100) }),
        headers: z.object({ 'idempotency-key': z.string().min(8).max(200).optional() }).passthrough(),
        body: startRegradeSchema,
        response: { 200: regradeSchema, 202: regradeSchema, 400: errorSchema, 404: errorSchema, 409: errorSchema },
      },
    },
    async (req, reply) => {
      const { regrade, created } = await service.start(req.principal!, req.params.assessmentId, req.body, req.headers['idempotency-key'] ?? null);
      return reply.code(created ? 202 : 200).send(regrade);
    },
  );

  r.get(
    '/v1/assessments/:assessmentId/regrades',
    {
      onRequest: requireRole('admin', 'reviewer', 'ci'),
      schema: {
        summary: 'Recent regrades of an assessment',
        tags: ['regrades'],
        params: z.object({ assessmentId: z.string().min(1).max(100) }),
        response: { 200: z.object({ regrades: z.array(regradeSchema) }), 404: errorSchema },
      },
    },
    async (req) => ({ regrades: await service.list(req.principal!, req.params.assessmentId) }),
  );

  r.get(
    '/v1/regrades/:id',
    {
      onRequest: requireRole('admin', 'reviewer', 'ci'),
      schema: {
        summary: 'Progress of a regrade; when finished, the diff (flips first)',
        tags: ['regrades'],
        params: z.object({ id: uuid }),
        querystring: z.object({ offset: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(50_000).default(10_000) }),
        response: { 200: regradeWithDiffSchema, 404: errorSchema },
      },
    },
    async (req) => service.get(req.principal!, req.params.id, req.query),
  );
}
