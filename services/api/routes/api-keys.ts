import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Context } from '../../context.ts';
import { ROLES } from '../../auth/api-keys.ts';
import { requireRole } from '../auth-plugin.ts';
import { uuid } from '../schemas.ts';

export async function apiKeyRoutes(app: FastifyInstance, _ctx: Context) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/v1/api-keys',
    {
      preHandler: requireRole('admin'),
      schema: {
        summary: 'Create an API key (the key is shown once)',
        tags: ['access'],
        body: z.object({ name: z.string().min(1).max(100), role: z.enum(ROLES), assessmentIds: z.array(z.string().min(1)).max(100).nullable().default(null) }).strict(),
      },
    },
    async (req, reply) => reply.code(201).send(await app.apiKeys.create(req.body)),
  );
  r.get('/v1/api-keys', { preHandler: requireRole('admin'), schema: { summary: 'List API keys (never the keys themselves)', tags: ['access'] } }, async () => ({
    keys: await app.apiKeys.list(),
  }));
  r.delete(
    '/v1/api-keys/:id',
    { preHandler: requireRole('admin'), schema: { summary: 'Revoke an API key', tags: ['access'], params: z.object({ id: uuid }) } },
    async (req, reply) => {
      await app.apiKeys.revoke(req.params.id);
      return reply.code(204).send();
    },
  );
}
