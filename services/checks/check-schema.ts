import { z } from 'zod';

/** What every check records and reports share: statuses, categories, bases, evidence, measurements. */

export const CHECK_STATUSES = ['pass', 'warn', 'fail', 'error', 'skipped'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export const CATEGORIES = ['leakage', 'cross-validation', 'imbalance', 'robustness', 'engineering', 'production'] as const;
export type Category = (typeof CATEGORIES)[number];

export const evidenceSchema = z.object({
  label: z.string().max(200),
  detail: z.string().max(4000),
  file: z.string().max(500).optional(),
  line: z.number().int().optional(),
  code: z.string().max(2000).optional(),
});
export type Evidence = z.infer<typeof evidenceSchema>;

/** Graded parts a candidate may leave out without breaking the contract. */
export const MISSING_PARTS = ['evaluate', 'predict_proba'] as const;
export type MissingPart = (typeof MISSING_PARTS)[number];

/**
 * What a check's verdict stands on. host: measured on the host from predictions on hidden data or
 * by the container engine, which the graded code cannot fake. sandbox: evidence produced inside the
 * sandbox (trace, lint, the candidate's own evaluate() numbers), which the graded code could forge.
 * mixed: both.
 */
export const BASES = ['host', 'sandbox', 'mixed'] as const;
export type Basis = (typeof BASES)[number];

export const BASIS_TEXT: Record<Basis, { label: string; detail: string }> = {
  host: { label: 'measured on the host', detail: 'measured on the host from predictions on hidden data or by the container engine; the graded code cannot fake it' },
  sandbox: {
    label: 'in-sandbox evidence',
    detail: "rests on evidence produced inside the sandbox (trace, lint, the candidate's own evaluate() output), which the graded code could have forged",
  },
  mixed: { label: 'host and sandbox', detail: 'compares evidence produced inside the sandbox with a measurement taken on the host' },
};

export const seriesPointSchema = z.object({ x: z.number(), y: z.number() });
export type SeriesPoint = z.infer<typeof seriesPointSchema>;

export const measurementSchema = z.object({
  /** False when the check could not run (no evaluate(), no model...); `reason` says why. */
  ran: z.boolean(),
  reason: z.string().max(2000).optional(),
  /**
   * Set when the check could not run because the candidate did not provide a graded part (none,
   * or one that raised, timed out or returned a malformed result): scored as failed unless the
   * rubric says otherwise. null: not run for another reason (platform, an earlier failure).
   * Absent: measured before this field existed; scoring infers it from `reason`.
   */
  missing: z.enum(MISSING_PARTS).nullable().optional(),
  values: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  evidence: z.array(evidenceSchema).max(100),
  /** Points a check's chart draws (a latency histogram, cost by threshold, a reliability curve), by name. */
  series: z.record(z.string().max(64), z.array(seriesPointSchema).max(200)).optional(),
});
export type Measurement = z.infer<typeof measurementSchema>;
export type Values = Measurement['values'];
