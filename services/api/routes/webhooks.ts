import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WebhookService, type WebhookServiceDeps } from '../../webhooks/webhook-service.ts';
import { createWebhookSchema, webhookDeliverySchema, webhookEndpointSchema } from '../../webhooks/webhook-schema.ts';
import { requireRole } from '../../http/auth-plugin.ts';
import { errorSchema, uuid } from '../../http/schemas.ts';

/** Webhook endpoints (admins only) and their delivery log. */
export async function webhookRoutes(app: FastifyInstance, ctx: WebhookServiceDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const service = new WebhookService(ctx);
  const admin = requireRole('admin');
  const params = z.object({ id: uuid });

  r.post(
    '/v1/webhooks',
    {
      onRequest: admin,
      schema: {
        summary: 'Register a webhook endpoint (its signing secret is shown once)',
        tags: ['webhooks'],
        body: createWebhookSchema,
        response: { 201: webhookEndpointSchema.extend({ secret: z.string() }), 400: errorSchema },
      },
    },
    async (req, reply) => reply.code(201).send(await service.create(req.principal!, req.body)),
  );
  r.get(
    '/v1/webhooks',
    { onRequest: admin, schema: { summary: 'Webhook endpoints', tags: ['webhooks'], response: { 200: z.object({ webhooks: z.array(webhookEndpointSchema) }) } } },
    async (req) => ({
      webhooks: await service.list(req.principal!),
    }),
  );
  r.get(
    '/v1/webhooks/:id',
    {
      onRequest: admin,
      schema: { summary: 'One webhook endpoint (enabled, or why it was disabled)', tags: ['webhooks'], params, response: { 200: webhookEndpointSchema, 404: errorSchema } },
    },
    async (req) => service.get(req.principal!, req.params.id),
  );
  r.delete('/v1/webhooks/:id', { onRequest: admin, schema: { summary: 'Delete a webhook endpoint and its log', tags: ['webhooks'], params } }, async (req, reply) => {
    await service.remove(req.principal!, req.params.id);
    return reply.code(204).send();
  });
  r.post(
    '/v1/webhooks/:id/enable',
    { onRequest: admin, schema: { summary: 'Enable a disabled endpoint again', tags: ['webhooks'], params, response: { 200: webhookEndpointSchema, 404: errorSchema } } },
    async (req) => service.enable(req.principal!, req.params.id),
  );
  r.get(
    '/v1/webhooks/:id/deliveries',
    {
      onRequest: admin,
      schema: {
        summary: 'Delivery log, newest first: status, attempts, last status code and error',
        tags: ['webhooks'],
        params,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: { 200: z.object({ deliveries: z.array(webhookDeliverySchema) }), 404: errorSchema },
      },
    },
    async (req) => ({ deliveries: await service.deliveries(req.principal!, req.params.id, req.query.limit) }),
  );
}
