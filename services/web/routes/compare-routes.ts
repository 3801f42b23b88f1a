import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../db/pool.ts';
import { DecisionRepository } from '../decision-repository.ts';
import { html } from '../html.ts';
import { sendHtml } from '../layout.ts';
import { codeDiffSection } from '../pages/compare-code.ts';
import { comparePage, type CompareColumn } from '../pages/compare-page.ts';
import { problemPage } from '../pages/problem-page.ts';
import type { CodeRoutesDeps } from './code-routes.ts';
import { comparePairs } from './compare-code.ts';
import type { ReviewScope } from './review-scope.ts';

/** ?ids=a&ids=b[&ids=c]: two or three different submissions. */
const compareQuery = z.object({
  ids: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => [...new Set(v === undefined ? [] : Array.isArray(v) ? v : [v])])
    .pipe(z.array(z.string().uuid('not a submission id')).min(2, 'select two or three submissions').max(3, 'select at most three submissions')),
});

export async function compareRoutes(app: FastifyInstance, ctx: { db: Db } & Pick<CodeRoutesDeps, 'blobs' | 'config'>, scope: ReviewScope) {
  const limits = { maxEntries: ctx.config.UPLOAD_MAX_ENTRIES, maxUncompressedBytes: ctx.config.UPLOAD_MAX_UNCOMPRESSED_BYTES, maxRatio: ctx.config.UPLOAD_MAX_RATIO };
  const decisions = new DecisionRepository(ctx.db);
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/review/compare', { preHandler: scope.requireSession, schema: { querystring: z.object({ ids: z.unknown() }) } }, async (req, reply) => {
    const parsed = compareQuery.safeParse(req.query);
    if (!parsed.success)
      return sendHtml(
        reply,
        400,
        problemPage(
          {
            title: 'Nothing to compare',
            lead: `Tick two or three candidates in the list, then choose “Compare selected” (${parsed.error.issues[0]!.message}).`,
            actions: html`<a class="button" href="/review">Back to the assessments</a>`,
            reference: 'compare_selection',
          },
          scope.nav(req),
        ),
      );
    const cols: CompareColumn[] = [];
    for (const id of parsed.data.ids) {
      const loaded = await scope.loadReport(req, id, undefined);
      const decision = (await decisions.history(id))[0] ?? null;
      cols.push(loaded.report ? { submission: loaded.sub, report: loaded.report, final: loaded.final, decision } : { submission: loaded.sub, report: null, final: null, decision });
    }
    const pairs = await comparePairs(
      ctx.blobs,
      limits,
      cols.map((c) => c.submission),
    );
    return sendHtml(reply, 200, comparePage(scope.nav(req), cols, codeDiffSection(pairs)));
  });
}
