import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AssessmentRegistry } from '../../assessments/assessment-registry.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/pool.ts';
import { NotFoundError } from '../../errors.ts';
import { publicBase } from '../../http/public-base.ts';
import type { ReportRepository } from '../../reports/report-repository.ts';
import type { RubricRepository } from '../../rubrics/rubric-repository.ts';
import type { SubmissionRepository } from '../../submissions/submission-repository.ts';
import { finalScore } from '../final-score.ts';
import { html } from '../html.ts';
import { sendHtml } from '../layout.ts';
import { ManualScoreRepository } from '../manual-score-repository.ts';
import { problemPage } from '../pages/problem-page.ts';
import { SHARE_MAX_DAYS, shareCreatedPage } from '../pages/review-panels.ts';
import { sharedReportPage } from '../pages/shared-report-page.ts';
import { ShareLinkRepository } from '../share-link-repository.ts';
import { idParams } from './decision-routes.ts';
import type { ReviewScope } from './review-scope.ts';

export type ShareRoutesDeps = {
  db: Db;
  config: Pick<Config, 'PUBLIC_URL'>;
  assessments: AssessmentRegistry;
  reports: Pick<ReportRepository, 'get'>;
  rubrics: Pick<RubricRepository, 'get'>;
  submissions: Pick<SubmissionRepository, 'getSubmission'>;
};

const shareFormSchema = z.object({
  report_id: z.string().uuid(),
  expires_in_days: z.coerce.number().int('whole days').min(1, 'at least one day').max(SHARE_MAX_DAYS, `at most ${SHARE_MAX_DAYS} days`),
});

/**
 * Read-only links to one report for someone without a key. Reviewers create and revoke them;
 * /s/<token> shows the report alone (no code, logs, archive, other submissions, reviewer notes).
 */
export async function shareRoutes(app: FastifyInstance, ctx: ShareRoutesDeps, scope: ReviewScope) {
  const links = new ShareLinkRepository(ctx.db);
  const manual = new ManualScoreRepository(ctx.db);
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/review/submissions/:id/share-links', { preHandler: scope.requireSession, schema: { params: idParams } }, async (req, reply) => {
    const parsed = shareFormSchema.safeParse(req.body);
    const loaded = await scope.loadReport(req, req.params.id, parsed.success ? parsed.data.report_id : undefined);
    if (!parsed.success || !loaded.report)
      return sendHtml(
        reply,
        400,
        problemPage(
          {
            title: 'The share link was not created',
            lead: parsed.success ? 'This submission has no report yet.' : `${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`,
            actions: html`<a class="button" href="/review/submissions/${loaded.sub.id}#share">Back to the report</a>`,
            reference: 'invalid_share_link',
          },
          scope.nav(req),
        ),
      );
    const p = req.webSession!.principal;
    const { link, token } = await links.create({
      submissionId: loaded.sub.id,
      reportId: loaded.report.id,
      createdBy: p.name,
      expiresAt: new Date(Date.now() + parsed.data.expires_in_days * 86_400_000),
    });
    req.log.info({ submissionId: loaded.sub.id, shareLinkId: link.id, expiresAt: link.expiresAt, by: p.name }, 'share link created');
    return sendHtml(reply, 201, shareCreatedPage(scope.nav(req), { url: `${publicBase(ctx, req)}/s/${token}`, link, candidate: loaded.sub.candidate ?? loaded.sub.fileName }));
  });

  r.post('/review/share-links/:id/revoke', { preHandler: scope.requireSession, schema: { params: idParams } }, async (req, reply) => {
    const link = await links.get(req.params.id);
    if (!link) throw new NotFoundError('share link');
    scope.visibleSubmission(req, await ctx.submissions.getSubmission(link.submissionId));
    await links.revoke(link.id, req.webSession!.principal.name);
    req.log.info({ shareLinkId: link.id, by: req.webSession!.principal.name }, 'share link revoked');
    return reply.redirect(`/review/submissions/${link.submissionId}#share`, 303);
  });

  r.get('/s/:token', { schema: { params: z.object({ token: z.string().max(100) }) } }, async (req, reply) => {
    reply.header('x-robots-tag', 'noindex, nofollow');
    const link = await links.findLive(req.params.token);
    const report = link ? await ctx.reports.get(link.reportId) : null;
    const sub = link ? await ctx.submissions.getSubmission(link.submissionId) : null;
    if (!link || !report || !sub)
      return sendHtml(
        reply,
        404,
        problemPage({
          title: 'This link does not work',
          lead: 'The link is not valid, has expired or was revoked. Ask the person who sent it for a new one.',
          reference: 'share_link_invalid',
        }),
      );
    const rubric = (await ctx.rubrics.get(sub.assessmentId, report.rubricVersion)).rubric;
    const scores = (await manual.current([sub.id])).get(sub.id) ?? [];
    return sendHtml(
      reply,
      200,
      sharedReportPage({
        submission: sub,
        report,
        rubric,
        final: finalScore(report.document, rubric, scores),
        manifest: ctx.assessments.get(sub.assessmentId).manifest,
        manual: scores,
        expiresAt: link.expiresAt,
      }),
    );
  });
}
