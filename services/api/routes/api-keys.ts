import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AssessmentRegistry } from '../../assessments/assessment-registry.ts';
import { ROLES, withinScope } from '../../auth/api-keys.ts';
import { DomainError, ForbiddenError, NotFoundError } from '../../errors.ts';
import { requireRole } from '../../http/auth-plugin.ts';
import { uuid } from '../../http/schemas.ts';

export interface ApiKeyRoutesDeps {
  assessments: AssessmentRegistry;
}

export async function apiKeyRoutes(app: FastifyInstance, ctx: ApiKeyRoutesDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/v1/api-keys',
    {
      onRequest: requireRole('admin'),
      schema: {
        summary: 'Create an API key (the key is shown once)',
        tags: ['access'],
        body: z.object({ name: z.string().min(1).max(100), role: z.enum(ROLES), assessmentIds: z.array(z.string().min(1)).max(100).nullable().default(null) }).strict(),
      },
    },
    async (req, reply) => {
      const { assessmentIds } = req.body;
      for (const id of assessmentIds ?? []) if (!ctx.assessments.has(id)) throw new DomainError('invalid_input', 'unknown_assessment', `assessment "${id}" does not exist`);
      // A key limited to some assessments may only hand out keys limited to (some of) those.
      if (!withinScope(req.principal!, assessmentIds)) throw new ForbiddenError('this key is limited to some assessments: it can only create keys limited to those (set assessmentIds)');
      return reply.code(201).send(await app.apiKeys.create(req.body));
    },
  );
  r.get('/v1/api-keys', { onRequest: requireRole('admin'), schema: { summary: 'List API keys (never the keys themselves)', tags: ['access'] } }, async (req) => ({
    keys: (await app.apiKeys.list()).filter((k) => withinScope(req.principal!, k.assessmentIds)),
  }));
  r.delete('/v1/api-keys/:id', { onRequest: requireRole('admin'), schema: { summary: 'Revoke an API key', tags: ['access'], params: z.object({ id: uuid }) } }, async (req, reply) => {
    const key = await app.apiKeys.scopeOf(req.params.id);
    if (!key || !withinScope(req.principal!, key.assessmentIds)) throw new NotFoundError(`API key ${req.params.id}`);
    await app.apiKeys.revoke(req.params.id);
    return reply.code(204).send();
  });
}
