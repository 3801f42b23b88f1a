import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StoredReport } from '../../reports/report-repository.ts';
import type { Rubric } from '../../rubrics/rubric-schema.ts';
import type { SubmissionRow } from '../../submissions/submission-repository.ts';
import type { FinalScore } from '../final-score.ts';
import type { ReviewerNav } from '../layout.ts';
import type { ManualScoreRow } from '../manual-score-repository.ts';

export interface LoadedReport {
  sub: SubmissionRow;
  report: StoredReport;
  rubric: Rubric;
  history: ManualScoreRow[];
  final: FinalScore;
}

/**
 * What the reviewer pages share, built once by reviewRoutes and handed to each group of routes:
 * the session check (with CSRF for POSTs), the navigation, and the loaders that apply the
 * principal's assessment scope.
 */
export interface ReviewScope {
  requireSession(req: FastifyRequest, reply: FastifyReply): Promise<unknown>;
  nav(req: FastifyRequest): ReviewerNav;
  visibleSubmission(req: FastifyRequest, sub: SubmissionRow | null): SubmissionRow;
  loadReport(req: FastifyRequest, id: string, reportId: string | undefined): Promise<LoadedReport | { sub: SubmissionRow; report: null }>;
}
