import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AssessmentRegistry } from '../../assessments/assessment-registry.ts';
import type { Db } from '../../db/pool.ts';
import { NotFoundError } from '../../errors.ts';
import { clusterPairs } from '../../similarity/similarity-clusters.ts';
import { SimilarityEngine } from '../../similarity/similarity-engine.ts';
import { SimilarityRepository } from '../../similarity/similarity-repository.ts';
import { starterCode } from '../../similarity/similarity-source.ts';
import type { SubmissionRepository } from '../../submissions/submission-repository.ts';
import type { CohortQuery } from '../cohort-queries.ts';
import type { SafeHtml } from '../html.ts';
import { sendHtml } from '../layout.ts';
import { similarityPage, type SideBySide } from '../pages/similarity-page.ts';
import { reportMatchesPanel, similarityListSection } from '../pages/similarity-panels.ts';
import { cohortPairs, listThreshold, topMatches } from '../similarity-queries.ts';
import type { ReviewScope } from './review-scope.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const similarityQuery = z.object({ with: z.string().regex(UUID).optional().catch(undefined) });

/**
 * Reviewer-only: a submission's similar code (stored pairs, either side) and one pair side by side.
 * A pair stored as an estimate is compared by Dolos when opened (from the stored token streams;
 * nothing is run). Registered with the reviewer routes only.
 */
const LIST_LIMIT = 500;

/** The assessment page's similar-code section: pairs at or above the bar (chosen in SQL), grouped into clusters. */
export async function similarityListFor(db: Db, assessmentId: string, q: CohortQuery): Promise<SafeHtml> {
  const threshold = await listThreshold(db, assessmentId, q.similar === undefined ? undefined : q.similar / 100);
  const pairs = await cohortPairs(db, assessmentId, threshold, LIST_LIMIT);
  const clusters = clusterPairs(pairs.map((p) => ({ ...p, a: p.left.node, b: p.right.node })));
  return similarityListSection({ assessmentId, threshold, clusters, truncated: pairs.length === LIST_LIMIT, query: q });
}

/** The report's similar-code panel: the top matches with anyone else's code. */
export async function reportSimilarityPanel(db: Db, submissionId: string): Promise<SafeHtml> {
  return reportMatchesPanel(submissionId, await topMatches(db, submissionId, 3));
}

export interface SimilarityRoutesDeps {
  db: Db;
  submissions: Pick<SubmissionRepository, 'getSubmission'>;
  assessments: Pick<AssessmentRegistry, 'readDoc'>;
}

export async function similarityRoutes(app: FastifyInstance, ctx: SimilarityRoutesDeps, scope: ReviewScope) {
  const repo = new SimilarityRepository(ctx.db);
  app.get<{ Params: { id: string } }>('/review/submissions/:id/similarity', { preHandler: scope.requireSession }, async (req, reply) => {
    const sub = scope.visibleSubmission(req, UUID.test(req.params.id) ? await ctx.submissions.getSubmission(req.params.id) : null);
    const { with: withId } = similarityQuery.parse(req.query ?? {});
    const stored = await repo.pairsOfSubmission(sub.id, 20);
    const labelOf = async (o: (typeof stored)[number]['other']) => {
      const other = o.submissionId ? await ctx.submissions.getSubmission(o.submissionId) : null;
      return other ? (other.candidate ?? other.fileName) : o.name;
    };
    const labels = new Map<string, string>();
    for (const p of stored) labels.set(p.other.id, await labelOf(p.other));
    const matches = stored.map((p) => ({
      otherDocumentId: p.other.id,
      label: labels.get(p.other.id)!,
      kind: p.other.kind,
      otherSubmissionId: p.other.submissionId,
      similarity: p.similarity,
      longest: p.longest,
    }));
    let pair: SideBySide | null = null;
    if (withId) {
      // A pair beyond the listed ones (linked from the assessment's clusters) is looked up on its own.
      const chosen = stored.find((p) => p.other.id === withId) ?? (await repo.pairsOfSubmission(sub.id, 1, withId))[0];
      if (!chosen) throw new NotFoundError('a stored match of that id for this submission');
      if (!labels.has(chosen.other.id)) labels.set(chosen.other.id, await labelOf(chosen.other));
      const [left, right] = await repo
        .documents([chosen.leftId === chosen.other.id ? chosen.rightId : chosen.leftId, chosen.other.id])
        .then((docs) => [docs.find((d) => d.submissionId === sub.id), docs.find((d) => d.id === chosen.other.id)]);
      if (!left || !right) throw new NotFoundError('the compared texts of this pair');
      // Fragments are stored from the pair's left side; seen from the other side, swap them.
      const mine = chosen.leftId === left.id;
      let fragments = chosen.fragments.map((f) => (mine ? f : { left: f.right, right: f.left, kgrams: f.kgrams }));
      if (!chosen.detailed) {
        const engine = await SimilarityEngine.create();
        const starter = starterCode(await ctx.assessments.readDoc(sub.assessmentId, 'brief'));
        fragments = engine.compare({ id: left.id, text: left.source, tokens: left.tokens }, [{ id: right.id, text: right.source, tokens: right.tokens }], starter)[0]!.fragments;
      }
      pair = { left, right, rightLabel: labels.get(right.id)!, fragments };
    }
    return sendHtml(reply, 200, similarityPage(scope.nav(req), sub, matches, pair));
  });
}
