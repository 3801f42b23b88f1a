import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Redis } from 'ioredis';
import type { AssessmentRegistry } from '../../assessments/assessment-registry.ts';
import type { Config } from '../../config.ts';
import type { GradingQueue } from '../../grading/grading-queue.ts';
import type { ReportRepository } from '../../reports/report-repository.ts';
import type { RubricRepository } from '../../rubrics/rubric-repository.ts';
import type { SubmissionRepository } from '../../submissions/submission-repository.ts';
import { canSeeAssessment } from '../../auth/api-keys.ts';
import { AuthError, DomainError, NotFoundError } from '../../errors.ts';
import { FailureWindow } from '../../http/fixed-window-limit.ts';
import type { InviteService } from '../../invites/invite-service.ts';
import { publicBase } from '../../http/public-base.ts';
import { InviteMailer, type InviteMailerConfig } from '../../invites/invite-mailer.ts';
import { renderMarkdown as reportMarkdown } from '../../reports/render-markdown.ts';
import type { Rubric } from '../../rubrics/rubric-schema.ts';
import type { SubmissionRow } from '../../submissions/submission-repository.ts';
import { SubmissionService, type SubmissionServiceDeps } from '../../submissions/submission-service.ts';
import { finalScore } from '../final-score.ts';
import { html } from '../html.ts';
import { sendHtml, type ReviewerNav } from '../layout.ts';
import { ManualScoreRepository, type ManualScoreRow } from '../manual-score-repository.ts';
import { phaseInfo } from '../pages/candidate-pages.ts';
import { problemPage } from '../pages/problem-page.ts';
import { reportPage, reportPendingPage } from '../pages/report-page.ts';
import { assessmentsPage, inviteCreatedPage, signInPage } from '../pages/review-pages.ts';
import { countsByAssessment } from '../review-queries.ts';
import { cohortRoutes, renderSubmissionsPage, type CohortRoutesDeps } from './cohort-routes.ts';
import { compareRoutes } from './compare-routes.ts';
import { similarityRoutes } from './similarity-routes.ts';
import { invitePreviewRoutes, type InvitePreviewDeps } from './invite-preview-routes.ts';
import { decisionRoutes, reviewPanels } from './decision-routes.ts';
import type { LoadedReport, ReviewScope } from './review-scope.ts';
import { shareRoutes, type ShareRoutesDeps } from './share-routes.ts';
import { SessionRepository, type WebSession } from '../session-repository.ts';
import { codeRoutes, type CodeRoutesDeps } from './code-routes.ts';
import { cohortPosition } from '../cohort-position.ts';

declare module 'fastify' {
  interface FastifyRequest {
    webSession?: WebSession;
  }
}

export const SESSION_COOKIE = 'grader_session';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Only our own reviewer pages are valid places to return to after signing in. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/review(\/|$|\?)/.test(next) && !/[\\\r\n]/.test(next) && !next.startsWith('//') ? next : '/review';
}

const sameSecret = (a: string, b: string) => crypto.timingSafeEqual(crypto.createHash('sha256').update(a).digest(), crypto.createHash('sha256').update(b).digest());

const inviteFormSchema = z.object({
  candidate_name: z.string().trim().min(1, 'the candidate name is required').max(200),
  candidate_email: z.string().trim().email('the e-mail address is not valid').max(320),
  expires_in_days: z.coerce.number().int('whole days').min(1, 'at least one day').max(90, 'at most 90 days'),
  max_attempts: z.coerce.number().int().min(1, 'at least one upload').max(20, 'at most 20 uploads'),
  send_email: z.literal('1').optional(),
});

const manualFormSchema = z.object({
  item_id: z.string().min(1).max(64),
  report_id: z.string().regex(UUID),
  points: z.coerce.number().finite('points must be a number'),
  comment: z.string().max(4000).default(''),
});

export type ReviewRoutesDeps = SubmissionServiceDeps &
  CodeRoutesDeps &
  InvitePreviewDeps &
  CohortRoutesDeps &
  ShareRoutesDeps & {
    config: Pick<Config, 'INVITE_DEFAULT_MAX_ATTEMPTS' | 'INVITE_DEFAULT_TTL_H' | 'PUBLIC_URL' | 'QUEUE_PREFIX' | 'SIGN_IN_FAILURES_PER_IP' | 'WEB_COOKIE_SECURE' | 'WEB_SESSION_TTL_S'> &
      InviteMailerConfig;
    redis: Redis;
    assessments: AssessmentRegistry;
    queue: Pick<GradingQueue, 'position'>;
    reports: ReportRepository;
    rubrics: RubricRepository;
    submissions: SubmissionRepository;
  };

export async function reviewRoutes(app: FastifyInstance, ctx: ReviewRoutesDeps, invites: InviteService) {
  const sessions = new SessionRepository(ctx.db);
  const signInFailures = new FailureWindow(ctx.redis, `${ctx.config.QUEUE_PREFIX}:rate:sign-in`, ctx.config.SIGN_IN_FAILURES_PER_IP, 15 * 60_000);
  const manual = new ManualScoreRepository(ctx.db);
  const submissionService = new SubmissionService(ctx);
  const mailer = InviteMailer.fromConfig(ctx.config);
  if (mailer) app.addHook('onClose', async () => mailer.close());
  // auto: Secure when the request came over https, or when the public address is https (TLS ended at a proxy).
  const cookieSecure = ctx.config.WEB_COOKIE_SECURE === 'auto' ? (ctx.config.PUBLIC_URL?.startsWith('https:') ? true : ('auto' as const)) : ctx.config.WEB_COOKIE_SECURE === 'true';

  const rubricCache = new Map<string, Rubric>();
  async function rubricOf(assessmentId: string, version: number): Promise<Rubric> {
    const key = `${assessmentId}@${version}`;
    let r = rubricCache.get(key);
    if (!r) {
      r = (await ctx.rubrics.get(assessmentId, version)).rubric;
      rubricCache.set(key, r);
    }
    return r;
  }

  const nav = (req: FastifyRequest): ReviewerNav => ({ name: req.webSession!.principal.name, role: req.webSession!.principal.role, csrf: req.webSession!.csrfToken });

  /** preHandler: a live session; POSTs also need the session's CSRF token. */
  async function requireSession(req: FastifyRequest, reply: FastifyReply) {
    const session = await sessions.find(req.cookies[SESSION_COOKIE]);
    if (!session) {
      if (req.method === 'GET') return reply.redirect(`/review/sign-in?next=${encodeURIComponent(req.url)}`, 303);
      return sendHtml(
        reply,
        401,
        problemPage({
          title: 'Please sign in again',
          lead: 'Your session has ended, so the form was not saved.',
          actions: html`<a class="button" href="/review/sign-in">Sign in</a>`,
          reference: 'session_required',
        }),
      );
    }
    req.webSession = session;
    if (req.method === 'POST') {
      const token = (req.body as Record<string, unknown> | undefined)?._csrf;
      if (typeof token !== 'string' || !sameSecret(token, session.csrfToken))
        return sendHtml(
          reply,
          403,
          problemPage(
            { title: 'This form has expired', lead: 'The form was not saved because it did not come from your current session. Reload the page and try again.', reference: 'csrf' },
            nav(req),
          ),
        );
    }
  }

  function visibleSubmission(req: FastifyRequest, sub: SubmissionRow | null): SubmissionRow {
    if (!sub || !canSeeAssessment(req.webSession!.principal, sub.assessmentId)) throw new NotFoundError('submission');
    return sub;
  }

  const scope: ReviewScope = { requireSession, nav, visibleSubmission, loadReport };
  await codeRoutes(app, ctx, scope);
  await cohortRoutes(app, ctx, scope, invites);
  await decisionRoutes(app, ctx, scope);
  await shareRoutes(app, ctx, scope);
  await compareRoutes(app, ctx, scope);
  await similarityRoutes(app, ctx, scope);
  await invitePreviewRoutes(app, ctx, scope, invites);

  // ---- sign-in / sign-out -------------------------------------------------------------------

  app.get<{ Querystring: { next?: string } }>('/review/sign-in', async (req, reply) => {
    if (await sessions.find(req.cookies[SESSION_COOKIE])) return reply.redirect(safeNext(req.query.next), 303);
    return sendHtml(reply, 200, signInPage({ next: safeNext(req.query.next) }));
  });

  app.post<{ Body: { api_key?: string; next?: string } }>('/review/sign-in', async (req, reply) => {
    const next = safeNext(req.body?.next);
    const key = String(req.body?.api_key ?? '').trim();
    // Keys carry 256 bits, but a client that keeps guessing is stopped anyway (and shows in the log).
    const wait = await signInFailures.blocked(req.ip);
    if (wait !== null) {
      req.log.warn({ ip: req.ip }, 'reviewer sign-in refused: too many failed attempts');
      reply.header('retry-after', String(wait));
      return sendHtml(reply, 429, signInPage({ next, error: `Too many failed sign-ins from your address. Try again in ${Math.ceil(wait / 60)} min.` }));
    }
    let principal;
    try {
      principal = await app.apiKeys.authenticate(`Bearer ${key}`);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      await signInFailures.fail(req.ip);
      return sendHtml(reply, 401, signInPage({ next, error: 'That API key was not recognised, or it has been revoked.' }));
    }
    if (principal.role !== 'admin' && principal.role !== 'reviewer')
      return sendHtml(reply, 403, signInPage({ next, error: 'This key is a CI key; only reviewer and admin keys can sign in here.' }));
    const { id } = await sessions.create(principal, ctx.config.WEB_SESSION_TTL_S);
    req.log.info({ who: principal.name, role: principal.role }, 'reviewer signed in');
    reply.setCookie(SESSION_COOKIE, id, { path: '/', httpOnly: true, sameSite: 'lax', secure: cookieSecure, maxAge: ctx.config.WEB_SESSION_TTL_S });
    return reply.redirect(next, 303);
  });

  app.post('/review/sign-out', { preHandler: requireSession }, async (req, reply) => {
    const id = req.cookies[SESSION_COOKIE];
    if (id) await sessions.end(id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/review/sign-in', 303);
  });

  // ---- assessments and submissions ------------------------------------------------------------

  app.get('/review', { preHandler: requireSession }, async (req, reply) => {
    const counts = await countsByAssessment(ctx.db);
    const list = ctx.assessments
      .list()
      .filter((a) => canSeeAssessment(req.webSession!.principal, a.manifest.id))
      .map((a) => ({ id: a.manifest.id, title: a.manifest.title, total: 0, graded: 0, lastAt: null, ...counts.get(a.manifest.id) }));
    return sendHtml(reply, 200, assessmentsPage(nav(req), list));
  });

  app.post<{ Params: { id: string }; Body: Record<string, string> }>('/review/assessments/:id/invites', { preHandler: requireSession }, async (req, reply) => {
    const assessmentId = req.params.id;
    if (!ctx.assessments.has(assessmentId) || !canSeeAssessment(req.webSession!.principal, assessmentId)) throw new NotFoundError('assessment');
    const parsed = inviteFormSchema.safeParse(req.body);
    if (!parsed.success)
      return renderSubmissionsPage(ctx, scope, invites, req, reply, assessmentId, {
        status: 400,
        inviteError: `The invite was not created: ${parsed.error.issues.map((i) => i.message).join('; ')}.`,
      });
    const created = await invites.create({
      assessmentId,
      candidateName: parsed.data.candidate_name,
      candidateEmail: parsed.data.candidate_email,
      expiresAt: new Date(Date.now() + parsed.data.expires_in_days * 86_400_000),
      maxAttempts: parsed.data.max_attempts,
      createdBy: req.webSession!.principal.name,
    });
    req.log.info({ inviteId: created.invite.id, assessmentId }, 'invite created');
    const url = `${publicBase(ctx, req)}${created.path}`;
    const assessmentTitle = ctx.assessments.get(assessmentId).manifest.title;
    // The invite exists before the e-mail is tried: a failed send is shown, never a lost invite.
    const email =
      mailer && parsed.data.send_email
        ? await mailer.send({
            to: { name: created.invite.candidateName, address: created.invite.candidateEmail },
            assessmentTitle,
            url,
            expiresAt: created.invite.expiresAt,
            maxAttempts: created.invite.maxAttempts,
          })
        : null;
    if (email) req.log[email.sent ? 'info' : 'warn']({ inviteId: created.invite.id, sent: email.sent, reason: email.sent ? undefined : email.reason }, 'invite e-mail');
    return sendHtml(reply, 201, inviteCreatedPage(nav(req), { url, invite: created.invite, assessmentTitle, email }));
  });

  app.post<{ Params: { id: string }; Body: Record<string, string> }>('/review/invites/:id/withdraw', { preHandler: requireSession }, async (req, reply) => {
    const invite = UUID.test(req.params.id) ? await invites.repo.get(req.params.id) : null;
    if (!invite || !canSeeAssessment(req.webSession!.principal, invite.assessmentId)) throw new NotFoundError('invite');
    await invites.repo.withdraw(invite.id);
    req.log.info({ inviteId: invite.id, by: req.webSession!.principal.name }, 'invite withdrawn');
    return reply.redirect(`/review/assessments/${encodeURIComponent(invite.assessmentId)}#invites`, 303);
  });

  app.post<{ Params: { id: string }; Body: Record<string, string> }>('/review/submissions/:id/grade-again', { preHandler: requireSession }, async (req, reply) => {
    const sub = visibleSubmission(req, UUID.test(req.params.id) ? await ctx.submissions.getSubmission(req.params.id) : null);
    const grading = await submissionService.retry(sub);
    req.log.info({ submissionId: sub.id, gradingId: grading.id, by: req.webSession!.principal.name }, 'grading started again');
    return reply.redirect(`/review/submissions/${sub.id}`, 303);
  });

  // ---- report ---------------------------------------------------------------------------------

  async function loadReport(req: FastifyRequest, id: string, reportId: string | undefined): Promise<LoadedReport | { sub: SubmissionRow; report: null }> {
    const sub = visibleSubmission(req, UUID.test(id) ? await ctx.submissions.getSubmission(id) : null);
    const report = reportId && UUID.test(reportId) ? await ctx.reports.get(reportId) : await ctx.reports.latest(sub.id);
    if (!report || report.submissionId !== sub.id) {
      if (reportId) throw new NotFoundError('report');
      return { sub, report: null };
    }
    const rubric = await rubricOf(sub.assessmentId, report.rubricVersion);
    const history = await manual.history(sub.id);
    const latestPerItem = new Map<string, ManualScoreRow>();
    for (const h of history) if (!latestPerItem.has(h.itemId)) latestPerItem.set(h.itemId, h);
    return { sub, report, rubric, history, final: finalScore(report.document, rubric, [...latestPerItem.values()]) };
  }

  async function renderReport(req: FastifyRequest, reply: FastifyReply, id: string, reportId: string | undefined, status: number, notice?: { kind: 'ok' | 'error'; text: string }) {
    const loaded = await loadReport(req, id, reportId);
    const grading = await ctx.submissions.latestGrading(loaded.sub.id);
    if (!loaded.report) {
      const position = grading?.status === 'queued' ? await ctx.queue.position(grading.id).catch(() => null) : null;
      return sendHtml(reply, 200, reportPendingPage(nav(req), { submission: loaded.sub, grading, label: phaseInfo(grading ?? { status: 'queued', phase: 'queued' }, position).label }));
    }
    const { sub, report, rubric, history, final } = loaded;
    const invite = sub.inviteId ? await invites.repo.get(sub.inviteId) : null;
    return sendHtml(
      reply,
      status,
      reportPage({
        nav: nav(req),
        submission: sub,
        candidateEmail: invite?.candidateEmail ?? null,
        grading,
        report,
        history: await ctx.reports.history(sub.id),
        manifest: ctx.assessments.get(sub.assessmentId).manifest,
        rubric,
        rubricVersion: report.rubricVersion,
        final,
        manualHistory: history,
        panels: await reviewPanels(ctx.db, nav(req), sub.id, report.id),
        cohort: await cohortPosition(ctx.db, sub.assessmentId, sub.id),
        notice,
      }),
    );
  }

  app.get<{ Params: { id: string }; Querystring: { reportId?: string; saved?: string } }>('/review/submissions/:id', { preHandler: requireSession }, async (req, reply) => {
    const saved = typeof req.query.saved === 'string' ? req.query.saved.slice(0, 64) : null;
    return renderReport(req, reply, req.params.id, req.query.reportId, 200, saved ? { kind: 'ok', text: `Saved the score for “${saved}”. The final score below includes it.` } : undefined);
  });

  app.post<{ Params: { id: string }; Body: Record<string, string> }>('/review/submissions/:id/manual-scores', { preHandler: requireSession }, async (req, reply) => {
    const id = req.params.id;
    const parsed = manualFormSchema.safeParse(req.body);
    const fail = (text: string) => renderReport(req, reply, id, undefined, 400, { kind: 'error', text: `The score was not saved: ${text}` });
    if (!parsed.success) return fail(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const loaded = await loadReport(req, id, parsed.data.report_id);
    if (!loaded.report) throw new NotFoundError('report');
    const item = loaded.rubric.manual.items.find((i) => i.id === parsed.data.item_id);
    if (!item) return fail(`rubric version ${loaded.report.rubricVersion} has no manual item "${parsed.data.item_id}".`);
    if (parsed.data.points < 0 || parsed.data.points > item.maxPoints) return fail(`“${item.title}” takes 0 to ${item.maxPoints} points.`);
    const p = req.webSession!.principal;
    await manual.append({
      submissionId: loaded.sub.id,
      reportId: loaded.report.id,
      rubricVersion: loaded.report.rubricVersion,
      itemId: item.id,
      points: parsed.data.points,
      comment: parsed.data.comment.trim(),
      scoredBy: p.name,
      scoredByKey: p.keyId,
    });
    req.log.info({ submissionId: loaded.sub.id, item: item.id, points: parsed.data.points, by: p.name }, 'manual score recorded');
    const latest = await ctx.reports.latest(loaded.sub.id);
    const reportQ = latest?.id === loaded.report.id ? '' : `reportId=${loaded.report.id}&`;
    return reply.redirect(`/review/submissions/${loaded.sub.id}?${reportQ}saved=${encodeURIComponent(item.title)}#manual`, 303);
  });

  // ---- exports --------------------------------------------------------------------------------

  const slug = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'submission';

  function reviewSummary(l: LoadedReport) {
    const current = new Map<string, ManualScoreRow>();
    for (const h of l.history) if (!current.has(h.itemId)) current.set(h.itemId, h);
    return {
      finalScore: Math.round(l.final.score * 100) / 100,
      automaticScore: Math.round(l.final.automaticScore * 100) / 100,
      manualScore: l.final.manualScore === null ? null : Math.round(l.final.manualScore * 100) / 100,
      manualWeight: l.final.manualWeight,
      passed: l.final.passed,
      verdict: l.final.verdict,
      topLine: l.final.topLine,
      manualItems: l.rubric.manual.items.map((i) => ({
        id: i.id,
        title: i.title,
        maxPoints: i.maxPoints,
        points: current.get(i.id)?.points ?? null,
        comment: current.get(i.id)?.comment ?? null,
        scoredBy: current.get(i.id)?.scoredBy ?? null,
        scoredAt: current.get(i.id)?.createdAt.toISOString() ?? null,
      })),
      history: l.history.map((h) => ({ itemId: h.itemId, points: h.points, comment: h.comment, scoredBy: h.scoredBy, at: h.createdAt.toISOString(), reportId: h.reportId })),
    };
  }

  async function loadForExport(req: FastifyRequest<{ Params: { id: string }; Querystring: { reportId?: string } }>): Promise<LoadedReport> {
    const l = await loadReport(req, req.params.id, req.query.reportId);
    if (!l.report) throw new DomainError('not_found', 'not_found', 'no report yet');
    return l as LoadedReport;
  }

  app.get<{ Params: { id: string }; Querystring: { reportId?: string } }>('/review/submissions/:id/report.json', { preHandler: requireSession }, async (req, reply) => {
    const l = await loadForExport(req);
    return reply
      .type('application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="report-${slug(l.sub.candidate ?? l.sub.fileName)}-${l.sub.id.slice(0, 8)}.json"`)
      .send(JSON.stringify({ reportId: l.report.id, createdAt: l.report.createdAt, ...l.report.document, review: reviewSummary(l) }, null, 2));
  });

  app.get<{ Params: { id: string }; Querystring: { reportId?: string } }>('/review/submissions/:id/report.md', { preHandler: requireSession }, async (req, reply) => {
    const l = await loadForExport(req);
    const r = reviewSummary(l);
    const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
    const lines = [
      reportMarkdown(l.report.document).trimEnd(),
      '',
      '## Review',
      '',
      `Candidate: ${cell(l.sub.candidate ?? 'API upload')}; file \`${cell(l.sub.fileName).replace(/`/g, "'")}\`.`,
      '',
      `**Final score ${r.finalScore.toFixed(0)}/100** (automatic ${r.automaticScore.toFixed(1)}, manual ${r.manualScore === null ? 'not scored' : r.manualScore.toFixed(1)}, manual weight ${Math.round(r.manualWeight * 100)}%). ${r.verdict} ${r.topLine.sentence}`,
      '',
    ];
    if (r.manualItems.length) {
      lines.push('| manual item | points | comment | by |', '|---|---|---|---|');
      for (const i of r.manualItems) lines.push(`| ${cell(i.title)} | ${i.points === null ? '—' : `${i.points}/${i.maxPoints}`} | ${cell(i.comment ?? '')} | ${cell(i.scoredBy ?? '')} |`);
      lines.push('');
    }
    return reply
      .type('text/markdown; charset=utf-8')
      .header('content-disposition', `attachment; filename="report-${slug(l.sub.candidate ?? l.sub.fileName)}-${l.sub.id.slice(0, 8)}.md"`)
      .send(lines.join('\n'));
  });
}
