import Fastify, { type FastifyInstance, type FastifyError, type FastifyBaseLogger } from 'fastify';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Context } from '../context.ts';
import { DomainError, ForbiddenError } from '../errors.ts';
import { ApiKeyService } from '../auth/api-keys.ts';
import { healthRoutes } from './routes/health.ts';
import { submissionRoutes } from './routes/submissions.ts';
import { assessmentRoutes } from './routes/assessments.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { rubricRoutes } from './routes/rubrics.ts';
import { regradeRoutes } from './routes/regrades.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { inviteRoutes } from './routes/invites.ts';
import { requireRole } from '../http/auth-plugin.ts';
import { sendDomainError } from '../http/error-status.ts';
import { registerWeb } from '../web/web-plugin.ts';

declare module 'fastify' {
  interface FastifyInstance {
    apiKeys: ApiKeyService;
  }
}

/** Builds the HTTP app; listening is server.ts's job, so tests inject requests without a port. */
export async function buildApp(ctx: Context): Promise<FastifyInstance> {
  const trusted = ctx.config.TRUST_PROXY;
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    requestTimeout: ctx.config.UPLOAD_TIMEOUT_MS,
    bodyLimit: 1024 * 1024,
    // A hop count trusts that many proxies in front of the service.
    trustProxy: typeof trusted === 'number' ? (_addr: string, hop: number) => hop < trusted : trusted,
    disableRequestLogging: false,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('apiKeys', new ApiKeyService(ctx.db, ctx.config.ADMIN_API_KEY));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof DomainError) return sendDomainError(reply, err);
    if (hasZodFastifySchemaValidationErrors(err))
      return reply.code(400).send({
        error: {
          code: 'invalid_request',
          message: err.validation.map((v) => `${v.instancePath || '/'} ${v.message}`).join('; '),
          details: err.validation.map((v) => ({ path: v.instancePath, message: v.message })),
        },
      });
    const status = err.statusCode ?? 500;
    if (status === 413 || err.code === 'FST_REQ_FILE_TOO_LARGE' || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply
        .code(413)
        .header('connection', 'close')
        .send({ error: { code: 'payload_too_large', message: `upload is larger than the limit of ${ctx.config.UPLOAD_MAX_BYTES} bytes` } });
    if (status < 500) return reply.code(status).send({ error: { code: err.code ?? 'bad_request', message: err.message } });
    // Never echo internals: the log has the details, the client gets the request id.
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal', message: `internal error (request ${req.id})` } });
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'ML assessment grader', version: '0.1.0', description: 'Upload submissions, follow their grading, read reports.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // Limits are declared per route (uploads); the counters live in Redis so every API process shares them.
  await app.register(rateLimit, { global: false, redis: ctx.redis, nameSpace: `${ctx.config.QUEUE_PREFIX}:rate:` });
  await app.register(multipart, { limits: { fileSize: ctx.config.UPLOAD_MAX_BYTES + 1, files: 1, fields: 10, fieldSize: 4096, parts: 12 } });

  await healthRoutes(app, ctx);
  await submissionRoutes(app, ctx);
  await assessmentRoutes(app, ctx);
  await apiKeyRoutes(app, ctx);
  await rubricRoutes(app, ctx);
  await regradeRoutes(app, ctx);
  await webhookRoutes(app, ctx);
  await inviteRoutes(app, ctx);
  await registerWeb(app, ctx);

  // Queue dashboard, admin only.
  const board = new FastifyAdapter();
  createBullBoard({ queues: [ctx.queue.queue, ctx.regradeQueue.queue, ctx.webhookQueue.queue].map((q) => new BullMQAdapter(q)), serverAdapter: board });
  board.setBasePath('/admin/queues');
  await app.register(async (scope) => {
    // The dashboard's routes answer errors with bull-board's own handler, which knows no domain
    // errors: refusals are answered here, as everywhere else in the API.
    scope.addHook('preHandler', async (req, reply) => {
      try {
        await requireRole('admin')(req, reply);
        // Job data spans every assessment: only an admin key without an assessment scope sees it.
        if (req.principal?.assessmentIds !== null) throw new ForbiddenError('the queue dashboard needs an admin key that is not limited to some assessments');
      } catch (err) {
        if (err instanceof DomainError) return sendDomainError(reply, err);
        throw err;
      }
    });
    await scope.register(board.registerPlugin(), { prefix: '/admin/queues' });
  });
  return app;
}
