import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { DomainError } from '../../errors.ts';
import { RubricService, type RubricServiceDeps } from '../../rubrics/rubric-service.ts';
import { requireRole } from '../../http/auth-plugin.ts';
import { errorSchema } from '../../http/schemas.ts';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
const RUBRIC_MAX_BYTES = 256 * 1024;

const versionSchema = z.object({
  assessmentId: z.string(),
  version: z.number().int(),
  rubricId: z.string(),
  contentSha256: z.string(),
  createdAt: z.string(),
  url: z.string(),
});
const params = z.object({ assessmentId: z.string().min(1).max(100) });

/** Rubric versions: push (JSON or YAML), list, read one. */
export async function rubricRoutes(app: FastifyInstance, ctx: RubricServiceDeps) {
  // Scoped to this plugin: YAML bodies are accepted here and nowhere else.
  await app.register(async (scope) => {
    scope.addContentTypeParser(YAML_TYPES, { parseAs: 'string', bodyLimit: RUBRIC_MAX_BYTES }, (_req, body, done) => {
      try {
        // yaml's default (core) schema builds plain data only: no custom tags, no code.
        done(null, parseYaml(body as string, { maxAliasCount: 100 }));
      } catch (err) {
        const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
        done(new DomainError('invalid_input', 'invalid_yaml', `the body is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`), undefined);
      }
    });
    const r = scope.withTypeProvider<ZodTypeProvider>();
    const service = new RubricService(ctx);

    r.post(
      '/v1/assessments/:assessmentId/rubrics',
      {
        onRequest: requireRole('admin', 'ci'),
        bodyLimit: RUBRIC_MAX_BYTES,
        schema: {
          summary: 'Push a rubric (JSON or YAML): 201 with a new version, 200 when the same content is already a version',
          description: 'Send application/json or application/yaml. Errors (400) list every bad field with its dotted path in error.details.issues.',
          tags: ['rubrics'],
          params,
          body: z.unknown(),
          response: { 200: versionSchema.extend({ created: z.boolean() }), 201: versionSchema.extend({ created: z.boolean() }), 400: errorSchema, 404: errorSchema },
        },
      },
      async (req, reply) => {
        const v = await service.push(req.principal!, req.params.assessmentId, req.body);
        const { rubric: _rubric, ...rest } = v;
        return reply.code(v.created ? 201 : 200).send(rest);
      },
    );

    r.get(
      '/v1/assessments/:assessmentId/rubrics',
      {
        onRequest: requireRole('admin', 'reviewer', 'ci'),
        schema: { summary: 'Rubric versions of an assessment, oldest first', tags: ['rubrics'], params, response: { 200: z.object({ versions: z.array(versionSchema) }), 404: errorSchema } },
      },
      async (req) => ({ versions: await service.list(req.principal!, req.params.assessmentId) }),
    );

    r.get(
      '/v1/assessments/:assessmentId/rubrics/:version',
      {
        onRequest: requireRole('admin', 'reviewer', 'ci'),
        schema: {
          summary: 'One rubric version, with its document',
          tags: ['rubrics'],
          params: params.extend({ version: z.coerce.number().int().positive() }),
          response: { 200: versionSchema.extend({ rubric: z.record(z.string(), z.unknown()) }), 404: errorSchema },
        },
      },
      async (req) => service.get(req.principal!, req.params.assessmentId, req.params.version),
    );
  });
}
