import { z } from 'zod';
import { diffRowSchema } from './regrade-diff.ts';

export const REGRADE_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
export const OVERALL_PATHS = ['rescore', 'sandbox', 'mixed', 'none'] as const;

export const startRegradeSchema = z
  .object({
    rubricVersion: z.number().int().positive(),
    /** Compute the diff, publish nothing: no new reports, no sandbox runs, no webhooks. */
    dryRun: z.boolean().default(false),
    /** Only these submissions of the assessment; all of them when left out. */
    submissionIds: z.array(z.string().uuid()).min(1).max(100_000).optional(),
  })
  .strict();
export type StartRegrade = z.infer<typeof startRegradeSchema>;

/** The job catalog entry for regrades. */
export const regradeJobSchema = z.object({ regradeId: z.string().uuid() }).strict();
export type RegradeJob = z.infer<typeof regradeJobSchema>;

export const regradeCountsSchema = z.object({
  total: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  pending: z.number().int(),
  rescored: z.number().int(),
  rerun: z.number().int(),
});

export const regradeSchema = z.object({
  id: z.string().uuid(),
  assessmentId: z.string(),
  rubricVersion: z.number().int(),
  dryRun: z.boolean(),
  status: z.enum(REGRADE_STATUSES),
  /** rescore: no container started; sandbox: every submission graded again; mixed: some of each. */
  path: z.enum(OVERALL_PATHS).nullable(),
  requestedBy: z.string(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  rescoreMs: z.number().int().nullable(),
  error: z.string().nullable(),
  done: z.number().int(),
  failed: z.number().int(),
  total: z.number().int(),
  counts: regradeCountsSchema,
  statusUrl: z.string(),
});
export type RegradeView = z.infer<typeof regradeSchema>;

export const regradeWithDiffSchema = regradeSchema.extend({
  /** Present once the regrade is finished: flips first. */
  diff: z
    .object({
      summary: z.object({
        total: z.number().int(),
        flips: z.number().int(),
        passToFail: z.number().int(),
        failToPass: z.number().int(),
        scoreChanged: z.number().int(),
        unchanged: z.number().int(),
        failed: z.number().int(),
        skipped: z.number().int(),
      }),
      offset: z.number().int(),
      limit: z.number().int(),
      rows: z.array(diffRowSchema),
    })
    .nullable(),
});
export type RegradeWithDiff = z.infer<typeof regradeWithDiffSchema>;
