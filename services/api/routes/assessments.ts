import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AssessmentRegistry } from '../../assessments/assessment-registry.ts';
import type { Db } from '../../db/pool.ts';
import type { SubmissionRepository } from '../../submissions/submission-repository.ts';
import { canSeeAssessment } from '../../auth/api-keys.ts';
import { NotFoundError } from '../../errors.ts';
import { requireRole } from '../../http/auth-plugin.ts';

export interface AssessmentRoutesDeps {
  assessments: AssessmentRegistry;
  db: Db;
  submissions: SubmissionRepository;
}

export async function assessmentRoutes(app: FastifyInstance, ctx: AssessmentRoutesDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/v1/assessments', { preHandler: requireRole('admin', 'reviewer', 'ci'), schema: { summary: 'Assessments this key may see', tags: ['assessments'] } }, async (req) => ({
    assessments: ctx.assessments
      .list()
      .filter((a) => canSeeAssessment(req.principal!, a.manifest.id))
      .map((a) => ({ id: a.manifest.id, title: a.manifest.title, datasetVersion: a.manifest.datasetVersion })),
  }));

  r.get(
    '/v1/assessments/:assessmentId/submissions',
    {
      preHandler: requireRole('admin', 'reviewer', 'ci'),
      schema: { summary: 'Submissions of an assessment with their latest status and score', tags: ['assessments'], params: z.object({ assessmentId: z.string() }) },
    },
    async (req) => {
      if (!ctx.assessments.has(req.params.assessmentId) || !canSeeAssessment(req.principal!, req.params.assessmentId)) throw new NotFoundError('assessment');
      const rows = await ctx.submissions.listByAssessment(req.params.assessmentId);
      const { rows: scores } = await ctx.db.query(
        `SELECT DISTINCT ON (submission_id) submission_id, score, passed FROM reports
         WHERE submission_id = ANY($1) ORDER BY submission_id, created_at DESC`,
        [rows.map((s) => s.id)],
      );
      const byId = new Map(scores.map((s) => [s.submission_id, s]));
      return {
        submissions: rows.map((s) => ({
          id: s.id,
          candidate: s.candidate,
          fileName: s.fileName,
          createdAt: s.createdAt,
          status: s.grading?.status ?? null,
          phase: s.grading?.phase ?? null,
          score: byId.get(s.id)?.score ?? null,
          passed: byId.get(s.id)?.passed ?? null,
        })),
      };
    },
  );
}
