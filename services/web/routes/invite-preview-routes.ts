import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { canSeeAssessment } from '../../auth/api-keys.ts';
import type { Config } from '../../config.ts';
import { NotFoundError } from '../../errors.ts';
import type { InviteService } from '../../invites/invite-service.ts';
import type { SubmissionRepository } from '../../submissions/submission-repository.ts';
import { canUploadAgain, invitePageContent, statusPageContent, type CandidatePageDeps } from '../candidate-page-data.ts';
import { sendHtml } from '../layout.ts';
import { invitePage, statusPage, type CandidatePreview } from '../pages/candidate-pages.ts';
import type { ReviewScope } from './review-scope.ts';

export type InvitePreviewDeps = CandidatePageDeps & { submissions: Pick<SubmissionRepository, 'getSubmission' | 'latestGrading'>; config: Pick<Config, 'UPLOAD_MAX_BYTES'> };

/**
 * "Open as the candidate": the candidate's pages for an invite, rendered for a signed-in reviewer
 * from the same loaders and templates. Read-only by construction: only GET routes, the invite is
 * looked up by id (its token is not stored, so nothing here can reach the candidate's link), no
 * attempt is reserved, and the upload form has no action. Works for withdrawn and expired invites too.
 */
export async function invitePreviewRoutes(app: FastifyInstance, ctx: InvitePreviewDeps, scope: ReviewScope, invites: InviteService) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  async function visibleInvite(req: FastifyRequest, id: string) {
    const invite = await invites.repo.get(id);
    if (!invite || !canSeeAssessment(req.webSession!.principal, invite.assessmentId)) throw new NotFoundError('invite');
    return invite;
  }
  const previewOf = (inviteId: string, assessmentId: string): CandidatePreview => ({
    base: `/review/invites/${inviteId}/preview`,
    back: `/review/assessments/${encodeURIComponent(assessmentId)}#invites`,
  });

  r.get('/review/invites/:id/preview', { preHandler: scope.requireSession, schema: { params: z.object({ id: z.string().uuid() }) } }, async (req, reply) => {
    const invite = await visibleInvite(req, req.params.id);
    const content = await invitePageContent(ctx, invites, invite);
    return sendHtml(reply, 200, invitePage({ invite, token: '', ...content, maxBytes: ctx.config.UPLOAD_MAX_BYTES, uploadKey: '', preview: previewOf(invite.id, invite.assessmentId) }));
  });

  r.get(
    '/review/invites/:id/preview/submissions/:sid',
    { preHandler: scope.requireSession, schema: { params: z.object({ id: z.string().uuid(), sid: z.string().uuid() }) } },
    async (req, reply) => {
      const invite = await visibleInvite(req, req.params.id);
      const sub = await ctx.submissions.getSubmission(req.params.sid);
      if (!sub || sub.inviteId !== invite.id) throw new NotFoundError('submission');
      const content = await statusPageContent(ctx, sub);
      return sendHtml(reply, 200, statusPage({ invite, token: '', submission: sub, ...content, canUploadAgain: canUploadAgain(invite), preview: previewOf(invite.id, invite.assessmentId) }));
    },
  );
}
