import type { AssessmentRegistry } from '../assessments/assessment-registry.ts';
import type { GradingQueue } from '../grading/grading-queue.ts';
import type { InviteRow } from '../invites/invite-repository.ts';
import type { ReportRepository } from '../reports/report-repository.ts';
import type { RubricRepository } from '../rubrics/rubric-repository.ts';
import type { InviteService } from '../invites/invite-service.ts';
import type { SubmissionRepository, SubmissionRow } from '../submissions/submission-repository.ts';
import { candidateView } from './candidate-view.ts';
import { renderMarkdown } from './markdown.ts';
import { didNotRunInfo, phaseInfo, type InvitePageData, type StatusPageData } from './pages/candidate-pages.ts';
import { didNotRun } from './run-outcome.ts';

export interface CandidatePageDeps {
  assessments: AssessmentRegistry;
  queue: Pick<GradingQueue, 'position'>;
  reports: Pick<ReportRepository, 'latest'>;
  rubrics: Pick<RubricRepository, 'get'>;
  submissions: Pick<SubmissionRepository, 'latestGrading'>;
}

/**
 * What the candidate's landing page shows for an invite, read-only: the candidate's own page and
 * the reviewer's preview of it are built from this one loader, so the preview cannot drift.
 */
export async function invitePageContent(
  ctx: CandidatePageDeps,
  invites: InviteService,
  invite: InviteRow,
): Promise<Pick<InvitePageData, 'assessmentTitle' | 'brief' | 'dataDictionary' | 'submissions'>> {
  const a = ctx.assessments.get(invite.assessmentId);
  const [brief, dictionary, subs] = await Promise.all([
    ctx.assessments.readDoc(a.manifest.id, 'brief'),
    ctx.assessments.readDoc(a.manifest.id, 'dataDictionary'),
    invites.submissions(invite.id).then((list) =>
      Promise.all(
        list.map(async (s) => {
          const grading = await ctx.submissions.latestGrading(s.id);
          const report = grading?.status === 'completed' ? await ctx.reports.latest(s.id) : null;
          return { ...s, grading, didNotRun: !!report && didNotRun(report.document) !== null };
        }),
      ),
    ),
  ]);
  return { assessmentTitle: a.manifest.title, brief: renderMarkdown(brief), dataDictionary: renderMarkdown(dictionary), submissions: subs };
}

/** What the candidate's status page shows of one submission: the phase, and once graded the checks the rubric lets them see. */
export async function statusPageContent(ctx: CandidatePageDeps, sub: SubmissionRow): Promise<Pick<StatusPageData, 'assessmentTitle' | 'info' | 'checks'>> {
  const g = await ctx.submissions.latestGrading(sub.id);
  const position = g?.status === 'queued' ? await ctx.queue.position(g.id).catch(() => null) : null;
  let info = phaseInfo(g ?? { status: 'queued', phase: 'queued' }, position);
  let checks = null;
  if (g?.status === 'completed') {
    const report = await ctx.reports.latest(sub.id);
    if (report) checks = candidateView(report.document, (await ctx.rubrics.get(sub.assessmentId, report.rubricVersion)).rubric).checks;
    const stop = report && didNotRun(report.document);
    if (stop) info = didNotRunInfo(info, stop);
  }
  return { assessmentTitle: ctx.assessments.get(sub.assessmentId).manifest.title, info, checks };
}

/** Whether the invite still takes an upload (the status page offers "Upload a new version"). */
export const canUploadAgain = (invite: InviteRow) => invite.revokedAt === null && invite.expiresAt.getTime() > Date.now() && invite.attemptsUsed < invite.maxAttempts;
