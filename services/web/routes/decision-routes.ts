import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../db/pool.ts';
import type { SubmissionRepository } from '../../submissions/submission-repository.ts';
import { DecisionRepository, DECISIONS } from '../decision-repository.ts';
import { html, type SafeHtml } from '../html.ts';
import { sendHtml, type ReviewerNav } from '../layout.ts';
import { decisionPanel, sharePanel } from '../pages/review-panels.ts';
import { problemPage } from '../pages/problem-page.ts';
import { ShareLinkRepository } from '../share-link-repository.ts';
import type { ReviewScope } from './review-scope.ts';
import { reportSimilarityPanel } from './similarity-routes.ts';

export const idParams = z.object({ id: z.string().uuid() });

const decisionFormSchema = z.object({
  decision: z.enum(DECISIONS, { error: 'choose advance, hold or reject' }),
  note: z.string().max(4000, 'the note is longer than 4000 characters').default(''),
});

/** The report page's reviewer panels: the decision with its history, the share links, and the top matches of similar code. */
export async function reviewPanels(db: Db, nav: ReviewerNav, submissionId: string, reportId: string): Promise<SafeHtml> {
  const [decisions, links, similar] = await Promise.all([
    new DecisionRepository(db).history(submissionId),
    new ShareLinkRepository(db).listBySubmission(submissionId),
    reportSimilarityPanel(db, submissionId),
  ]);
  return html`<div class="grid grid-2">${decisionPanel(nav, submissionId, decisions)}${sharePanel(nav, submissionId, reportId, links)}</div>${similar}`;
}

/** Decisions (advance / hold / reject) with a note: each one appended, never edited. */
export async function decisionRoutes(app: FastifyInstance, ctx: { db: Db; submissions: Pick<SubmissionRepository, 'getSubmission'> }, scope: ReviewScope) {
  const decisions = new DecisionRepository(ctx.db);
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/review/submissions/:id/decisions', { preHandler: scope.requireSession, schema: { params: idParams } }, async (req, reply) => {
    const sub = scope.visibleSubmission(req, await ctx.submissions.getSubmission(req.params.id));
    const parsed = decisionFormSchema.safeParse(req.body);
    if (!parsed.success)
      return sendHtml(
        reply,
        400,
        problemPage(
          {
            title: 'The decision was not saved',
            lead: `${parsed.error.issues.map((i) => i.message).join('; ')}.`,
            actions: html`<a class="button" href="/review/submissions/${sub.id}#decision">Back to the report</a>`,
            reference: 'invalid_decision',
          },
          scope.nav(req),
        ),
      );
    const p = req.webSession!.principal;
    const saved = await decisions.append({ submissionId: sub.id, decision: parsed.data.decision, note: parsed.data.note.trim(), decidedBy: p.name, decidedByKey: p.keyId });
    req.log.info({ submissionId: sub.id, decision: saved.decision, by: p.name }, 'decision recorded');
    return reply.redirect(`/review/submissions/${sub.id}#decision`, 303);
  });
}
