import { z } from 'zod';
import { CHECK_IDS, checkDefinition, checkIdSchema } from '../checks/check-catalog.ts';

export const VISIBILITIES = ['hidden', 'name', 'summary', 'full'] as const;

const checkRuleSchema = z
  .object({
    weight: z.number().min(0, 'weight must be 0 or more').max(100, 'weight must be at most 100'),
    severity: z.enum(['critical', 'major', 'minor']).default('major'),
    thresholds: z.record(z.string(), z.unknown()).default({}),
    /** What candidates see of this check; reviewers always see everything. */
    visibility: z.enum(VISIBILITIES).default('name'),
    /** When the check cannot run for a reason other than a missing part: leave it out of the score, or count it failed. */
    whenNotRun: z.enum(['skipped', 'fail']).default('skipped'),
    /**
     * When the check cannot run because the candidate did not provide the part it is fed by (no
     * evaluate() or predict_proba(), or one that failed): absent means the check's own default
     * ('fail'; 'warn' for the checks fed by predict_proba). No default is written into the parsed
     * rubric, so rubric content hashes stay what they were before this field existed.
     */
    whenMissing: z.enum(['fail', 'warn', 'skipped']).optional(),
  })
  .strict();

const manualItemSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lowercase letters, digits, "_", "." or "-"'),
    title: z.string().min(1).max(200),
    description: z.string().max(2000).default(''),
    maxPoints: z.number().int().positive().max(100),
  })
  .strict();

/** Threshold pairs where the warning bar must not be stricter than the failing one. */
const ORDERED: [string, string, string][] = [
  ['leakage.target', 'warnFlipRate', 'failFlipRate'],
  ['cv.stratified', 'warnAbove', 'failAbove'],
  ['reproducibility.deterministic', 'warnAbove', 'failAbove'],
  ['imbalance.minority_recall', 'warn', 'pass'],
  ['imbalance.beats_baseline', 'maxCostRatioVsReference', 'warnCostRatioVsReference'],
  ['serving.latency', 'warnP99Ms', 'p99Ms'],
  ['business.threshold', 'warnRegret', 'failRegret'],
  ['calibration', 'warnEce', 'failEce'],
];

/** Similarity pairs below this are not stored (services/similarity), so no rubric can flag below it. */
export const SIMILARITY_FLOOR = 0.2;

/**
 * Similarity across the cohort is information for reviewers, never points. `flagAbove`: a
 * submission with a match (another candidate's code or a reference solution) at or above this
 * similarity (0-1) is flagged in the reviewer's list. Absent (the default): no flag. Candidates
 * never see any of it. No default is written into the parsed rubric (content hashes stay).
 */
const similarityRuleSchema = z
  .object({ flagAbove: z.number().min(SIMILARITY_FLOOR, `flagAbove must be at least ${SIMILARITY_FLOOR}: weaker matches are not stored`).max(1, 'flagAbove must be at most 1') })
  .strict();

export const rubricSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/),
    assessmentId: z.string().min(1),
    title: z.string().max(200).default(''),
    /** Overall score (0-100) needed to pass; a failed critical check fails regardless. */
    passMark: z.number().min(0, 'passMark must be between 0 and 100').max(100, 'passMark must be between 0 and 100'),
    checks: z.record(z.string(), checkRuleSchema),
    manual: z
      .object({
        /** Share of the final score that comes from manual items once a reviewer has scored them. */
        weight: z.number().min(0).max(1).default(0),
        items: z.array(manualItemSchema).max(50).default([]),
      })
      .strict()
      .default({ weight: 0, items: [] }),
    similarity: similarityRuleSchema.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    let total = 0;
    for (const [id, rule] of Object.entries(r.checks)) {
      const known = checkIdSchema.safeParse(id);
      if (!known.success) {
        ctx.addIssue({ code: 'custom', path: ['checks', id], message: `unknown check id "${id}"; known: ${CHECK_IDS.join(', ')}` });
        continue;
      }
      total += rule.weight;
      const parsed = checkDefinition(id).thresholds.safeParse(rule.thresholds);
      if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['checks', id, 'thresholds', ...issue.path.map(String)], message: issue.message });
      else rule.thresholds = parsed.data as Record<string, unknown>;
    }
    if (total <= 0) ctx.addIssue({ code: 'custom', path: ['checks'], message: 'the check weights must add up to more than 0' });
    for (const [id, lo, hi] of ORDERED) {
      const t = r.checks[id]?.thresholds as Record<string, number> | undefined;
      if (t && typeof t[lo] === 'number' && typeof t[hi] === 'number' && t[lo] > t[hi])
        ctx.addIssue({ code: 'custom', path: ['checks', id, 'thresholds', lo], message: `${lo} (${t[lo]}) must not exceed ${hi} (${t[hi]})` });
    }
    const ids = new Set<string>();
    r.manual.items.forEach((item, i) => {
      if (ids.has(item.id)) ctx.addIssue({ code: 'custom', path: ['manual', 'items', i, 'id'], message: `duplicate manual item id "${item.id}"` });
      ids.add(item.id);
    });
    if (r.manual.weight > 0 && r.manual.items.length === 0) ctx.addIssue({ code: 'custom', path: ['manual', 'weight'], message: 'manual weight is set but there are no manual items' });
  });

export type Rubric = z.infer<typeof rubricSchema>;
export type RubricCheckRule = z.infer<typeof checkRuleSchema>;

export class RubricError extends Error {
  override name = 'RubricError';
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid rubric:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  }
}

/** Parses a rubric document; errors name the path of every bad field. */
export function parseRubric(input: unknown): Rubric {
  const parsed = rubricSchema.safeParse(input);
  if (!parsed.success) throw new RubricError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(rubric)', message: i.message })));
  return parsed.data;
}
