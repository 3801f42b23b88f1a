import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import { canSeeAssessment } from '../../auth/api-keys.ts';
import { NotFoundError } from '../../errors.ts';
import { requireRole } from '../../http/auth-plugin.ts';
import { publicBase } from '../../http/public-base.ts';
import { errorSchema, uuid } from '../../http/schemas.ts';
import type { InviteRow } from '../../invites/invite-repository.ts';
import { InviteService, type InviteServiceDeps } from '../../invites/invite-service.ts';

export type InviteRoutesDeps = InviteServiceDeps & { config: Pick<Config, 'PUBLIC_URL'> };

const inviteSchema = z.object({
  id: uuid,
  assessmentId: z.string(),
  candidateName: z.string(),
  candidateEmail: z.string(),
  expiresAt: z.string(),
  maxAttempts: z.number().int(),
  attemptsUsed: z.number().int(),
  createdBy: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

const toJson = (i: InviteRow) => ({
  id: i.id,
  assessmentId: i.assessmentId,
  candidateName: i.candidateName,
  candidateEmail: i.candidateEmail,
  expiresAt: i.expiresAt.toISOString(),
  maxAttempts: i.maxAttempts,
  attemptsUsed: i.attemptsUsed,
  createdBy: i.createdBy,
  createdAt: i.createdAt.toISOString(),
  revokedAt: i.revokedAt?.toISOString() ?? null,
});

/** Invites over the API (admin and reviewer keys, within their assessments); the links are what candidates open. */
export async function inviteRoutes(app: FastifyInstance, ctx: InviteRoutesDeps) {
  const invites = new InviteService(ctx);
  await app.register(async (scope) => {
    scope.addHook('preHandler', requireRole('admin', 'reviewer'));
    await inviteEndpoints(scope, ctx, invites);
  });
}

async function inviteEndpoints(app: FastifyInstance, ctx: InviteRoutesDeps, invites: InviteService) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/v1/invites',
    {
      schema: {
        summary: 'Invite a candidate: a signed link with an expiry and a number of uploads (the link is returned once)',
        tags: ['invites'],
        body: z
          .object({
            assessmentId: z.string().min(1).max(100),
            candidateName: z.string().trim().min(1).max(200),
            candidateEmail: z.string().trim().email().max(320),
            expiresAt: z.string().datetime({ offset: true }).optional(),
            expiresInHours: z
              .number()
              .positive()
              .max(24 * 90)
              .optional(),
            maxAttempts: z.number().int().min(1).max(20).optional(),
          })
          .strict()
          .refine((b) => !(b.expiresAt && b.expiresInHours), { message: 'give expiresAt or expiresInHours, not both' }),
        response: { 201: inviteSchema.extend({ url: z.string(), token: z.string() }), 400: errorSchema, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if (!ctx.assessments.has(b.assessmentId) || !canSeeAssessment(req.principal!, b.assessmentId)) throw new NotFoundError(`assessment "${b.assessmentId}"`);
      const created = await invites.create({
        assessmentId: b.assessmentId,
        candidateName: b.candidateName,
        candidateEmail: b.candidateEmail,
        expiresAt: b.expiresAt ? new Date(b.expiresAt) : b.expiresInHours ? new Date(Date.now() + b.expiresInHours * 3600_000) : undefined,
        maxAttempts: b.maxAttempts,
        createdBy: req.principal!.name,
      });
      return reply.code(201).send({ ...toJson(created.invite), url: `${publicBase(ctx, req)}${created.path}`, token: created.token });
    },
  );

  r.get(
    '/v1/invites',
    {
      schema: { summary: 'Invites of an assessment, newest first (never their links)', tags: ['invites'], querystring: z.object({ assessmentId: z.string().min(1) }) },
    },
    async (req) => {
      if (!ctx.assessments.has(req.query.assessmentId) || !canSeeAssessment(req.principal!, req.query.assessmentId)) throw new NotFoundError('assessment');
      const list = await invites.repo.listByAssessment(req.query.assessmentId);
      return { invites: list.map((i) => ({ ...toJson(i), submissions: i.submissions })) };
    },
  );

  r.post(
    '/v1/invites/:id/withdraw',
    {
      schema: {
        summary: 'Withdraw an invite: its link stops working at once (uploads already made are kept). Idempotent.',
        tags: ['invites'],
        params: z.object({ id: uuid }),
        response: { 200: inviteSchema, 404: errorSchema },
      },
    },
    async (req) => {
      const existing = await invites.repo.get(req.params.id);
      if (!existing || !canSeeAssessment(req.principal!, existing.assessmentId)) throw new NotFoundError('invite');
      const withdrawn = (await invites.repo.withdraw(existing.id))!;
      req.log.info({ inviteId: withdrawn.id, by: req.principal!.name }, 'invite withdrawn');
      return toJson(withdrawn);
    },
  );
}
