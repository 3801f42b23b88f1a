import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stringify } from 'csv-stringify/sync';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AssessmentRegistry } from '../../assessments/assessment-registry.ts';
import { canSeeAssessment } from '../../auth/api-keys.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/pool.ts';
import { NotFoundError } from '../../errors.ts';
import type { InviteService } from '../../invites/invite-service.ts';
import { cohortFacets, cohortQuerySchema, listCohort, type CohortRow } from '../cohort-queries.ts';
import { sendHtml } from '../layout.ts';
import { checkTitle, DECISION_TEXT, percentBeaten } from '../pages/cohort-page.ts';
import { withdrawConfirmPage } from '../pages/review-panels.ts';
import { submissionsPage } from '../pages/review-pages.ts';
import type { ReviewScope } from './review-scope.ts';
import { similarityListFor } from './similarity-routes.ts';

export type CohortRoutesDeps = {
  db: Db;
  assessments: AssessmentRegistry;
  config: Pick<Config, 'INVITE_DEFAULT_MAX_ATTEMPTS' | 'INVITE_DEFAULT_TTL_H' | 'SMTP_HOST'>;
};

const assessmentParams = z.object({ id: z.string().min(1).max(100) });

/** The assessment, if it exists and the signed-in principal may see it. */
function visibleAssessment(ctx: CohortRoutesDeps, req: FastifyRequest, assessmentId: string) {
  if (!ctx.assessments.has(assessmentId) || !canSeeAssessment(req.webSession!.principal, assessmentId)) throw new NotFoundError('assessment');
  return ctx.assessments.get(assessmentId);
}

/** The assessment's page: candidates (filtered and sorted in SQL) and its invites. */
export async function renderSubmissionsPage(
  ctx: CohortRoutesDeps,
  scope: ReviewScope,
  invites: InviteService,
  req: FastifyRequest,
  reply: FastifyReply,
  assessmentId: string,
  o: { status?: number; inviteError?: string } = {},
) {
  const a = visibleAssessment(ctx, req, assessmentId);
  const q = cohortQuerySchema.parse(req.query ?? {});
  const [rows, facets, inviteRows, similarity] = await Promise.all([
    listCohort(ctx.db, assessmentId, q),
    cohortFacets(ctx.db, assessmentId),
    invites.repo.listByAssessment(assessmentId),
    similarityListFor(ctx.db, assessmentId, q),
  ]);
  return sendHtml(
    reply,
    o.status ?? 200,
    submissionsPage({
      nav: scope.nav(req),
      assessment: { id: assessmentId, title: a.manifest.title },
      cohort: { assessmentId, rows, query: q, ...facets, similarity },
      invites: inviteRows,
      defaults: { ttlHours: ctx.config.INVITE_DEFAULT_TTL_H, maxAttempts: ctx.config.INVITE_DEFAULT_MAX_ATTEMPTS },
      emailEnabled: !!ctx.config.SMTP_HOST,
      inviteError: o.inviteError,
    }),
  );
}

const CSV_COLUMNS = [
  'candidate',
  'email',
  'file',
  'submitted_at',
  'attempts',
  'status',
  'verdict',
  'final_score',
  'automatic_score',
  'manual_scored',
  'decision',
  'decided_by',
  'decision_note',
  'failed_checks',
  'submission_id',
  'quality_beats_pct',
  'score_beats_pct',
  'similarity_top_pct',
  'similarity_flagged',
] as const;

const round = (x: number | null) => (x === null ? '' : (Math.round(x * 10) / 10).toFixed(1));

function csvRecord(r: CohortRow): Record<(typeof CSV_COLUMNS)[number], string | number> {
  return {
    candidate: r.candidate ?? 'API upload',
    email: r.candidateEmail ?? '',
    file: r.fileName,
    submitted_at: r.createdAt.toISOString(),
    attempts: r.earlier.length + 1,
    status: r.status ?? 'queued',
    verdict: r.invalid ? 'invalid (did not run)' : r.passed === null ? '' : `${r.passed ? 'passed' : 'not passed'}${r.manualScored < r.manualTotal ? ' (provisional)' : ''}`,
    final_score: round(r.finalScore),
    automatic_score: round(r.automaticScore),
    manual_scored: r.manualTotal ? `${r.manualScored} of ${r.manualTotal}` : '',
    decision: r.decision ? DECISION_TEXT[r.decision.decision]! : '',
    decided_by: r.decision?.by ?? '',
    decision_note: r.decision?.note ?? '',
    failed_checks: r.flags.map(checkTitle).join('; '),
    submission_id: r.id,
    // Reviewers only, like the whole export: the share of the other graded submissions beaten (empty with nobody to compare).
    quality_beats_pct: percentBeaten(r.position.quality) ?? '',
    score_beats_pct: percentBeaten(r.position.score) ?? '',
    // The highest similarity with anyone else's code (empty: no stored match above the 0.2 floor), and whether the rubric flags it.
    similarity_top_pct: r.similarityTop === null ? '' : Math.round(r.similarityTop * 100),
    similarity_flagged: r.similarityFlag === null ? 'no' : 'yes',
  };
}

/**
 * Rows as a spreadsheet reads them: RFC 4180 quoting, and (csv-stringify's escape_formulas) a
 * leading ' on cells that start with = + - @ tab or CR, so a candidate's name cannot be a formula.
 */
export function cohortCsv(rows: CohortRow[]): string {
  return stringify(rows.map(csvRecord), { header: true, columns: [...CSV_COLUMNS], escape_formulas: true, record_delimiter: 'windows' });
}

export async function cohortRoutes(app: FastifyInstance, ctx: CohortRoutesDeps, scope: ReviewScope, invites: InviteService) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/review/assessments/:id', { preHandler: scope.requireSession, schema: { params: assessmentParams, querystring: cohortQuerySchema } }, async (req, reply) =>
    renderSubmissionsPage(ctx, scope, invites, req, reply, req.params.id),
  );

  r.get('/review/assessments/:id/candidates.csv', { preHandler: scope.requireSession, schema: { params: assessmentParams, querystring: cohortQuerySchema } }, async (req, reply) => {
    visibleAssessment(ctx, req, req.params.id);
    const rows = await listCohort(ctx.db, req.params.id, req.query);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="candidates-${req.params.id.replace(/[^\w-]/g, '')}.csv"`)
      .send(cohortCsv(rows));
  });

  r.get('/review/invites/:id/withdraw', { preHandler: scope.requireSession, schema: { params: z.object({ id: z.string().uuid() }) } }, async (req, reply) => {
    const invite = await invites.repo.get(req.params.id);
    if (!invite || !canSeeAssessment(req.webSession!.principal, invite.assessmentId)) throw new NotFoundError('invite');
    return sendHtml(reply, 200, withdrawConfirmPage(scope.nav(req), invite));
  });
}
