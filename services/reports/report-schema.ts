import { z } from 'zod';
import { BASES, CATEGORIES, CHECK_STATUSES, checkIdSchema, evidenceSchema, measurementSchema } from '../checks/check-catalog.ts';
import { SANDBOX_OUTCOMES } from '../sandbox/sandbox.ts';

export const REPORT_SCHEMA_VERSION = 1;

const values = z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]));

export const reportCheckSchema = z.object({
  id: checkIdSchema,
  title: z.string(),
  category: z.enum(CATEGORIES),
  /** What the status stands on (host / sandbox / mixed); absent in reports stored before it was recorded, where the catalogue's value applies. */
  basis: z.enum(BASES).optional(),
  status: z.enum(CHECK_STATUSES),
  score: z.number().min(0).max(1).nullable(),
  weight: z.number(),
  severity: z.enum(['critical', 'major', 'minor']),
  visibility: z.enum(['hidden', 'name', 'summary', 'full']),
  summary: z.string(),
  explanation: z.string(),
  values,
  evidence: z.array(evidenceSchema),
  /** The check's chart data (measurementSchema.series); absent for checks without a chart. */
  series: measurementSchema.shape.series,
});

/** A part of the score the top line names: a check or a manual item, with the points it earned or lost of what it can give. */
export const scoreDriverSchema = z.object({ kind: z.enum(['check', 'manual']), id: z.string(), title: z.string(), points: z.number(), of: z.number() });

/** In one sentence what most lifted and most lowered the score (grading/score-drivers.ts); ties list every part. */
export const topLineSchema = z.object({ sentence: z.string(), lifted: z.array(scoreDriverSchema), lowered: z.array(scoreDriverSchema) });

export const holdoutMetricsSchema = z.object({
  rows: z.number().int(),
  positives: z.number().int(),
  confusion: z.object({ tp: z.number().int(), fp: z.number().int(), tn: z.number().int(), fn: z.number().int() }),
  businessCost: z.number(),
  costPer1000: z.number(),
  balancedAccuracy: z.number(),
  recall: z.number(),
  precision: z.number(),
  f1: z.number(),
  rocAuc: z.number().nullable(),
  prAuc: z.number().nullable(),
  prCurve: z.array(z.object({ threshold: z.number(), precision: z.number(), recall: z.number() })),
  baselines: z.object({
    majorityCost: z.number(),
    referenceCost: z.number().nullable(),
    referenceBalancedAccuracy: z.number().nullable(),
    referenceRecall: z.number().nullable(),
  }),
});

export const resourceUsageSchema = z.object({
  step: z.string(),
  phase: z.string(),
  status: z.string(),
  durationMs: z.number(),
  cpuMs: z.number().nullable(),
  peakMemoryBytes: z.number().nullable(),
});

export const logSchema = z.object({
  step: z.string(),
  phase: z.string(),
  stdout: z.string(),
  stderr: z.string(),
  stdoutBytes: z.number().int(),
  stderrBytes: z.number().int(),
  truncated: z.boolean(),
});

export const provenanceSchema = z.object({
  submissionSha256: z.string().regex(/^[a-f0-9]{64}$/),
  assessmentId: z.string(),
  datasetVersion: z.string(),
  datasetSha256: z.string(),
  rubricId: z.string(),
  rubricVersion: z.number().int(),
  runnerImage: z.string(),
  runnerImageDigest: z.string(),
  harnessVersion: z.string(),
  seed: z.number().int(),
  gradedAt: z.string(),
  workerHost: z.string(),
});

export const reportDocumentSchema = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  submissionId: z.string().uuid(),
  gradingId: z.string().uuid().nullable(),
  assessmentId: z.string(),
  /** graded: every check that could run ran; partial: the submission stopped grading early. */
  status: z.enum(['graded', 'partial']),
  score: z.number().min(0).max(100),
  automaticScore: z.number().min(0).max(100),
  manualScore: z.number().min(0).max(100).nullable(),
  passed: z.boolean(),
  verdict: z.string(),
  /** Reviewers only (never in the candidate's view); absent in reports stored before it was written. */
  topLine: topLineSchema.optional(),
  categories: z.array(z.object({ id: z.enum(CATEGORIES), score: z.number().nullable(), weight: z.number(), explanation: z.string() })),
  checks: z.array(reportCheckSchema),
  metrics: z.object({
    holdout: holdoutMetricsSchema.nullable(),
    evaluate: z.object({ metric: z.string(), foldScores: z.array(z.number()), holdout: z.number().nullable(), holdoutSe: z.number().nullable() }).nullable(),
  }),
  sandbox: z.array(
    z.object({
      step: z.string(),
      outcome: z.enum(SANDBOX_OUTCOMES),
      exitCode: z.number().int().nullable(),
      durationMs: z.number(),
      overheadMs: z.number(),
      peakMemoryBytes: z.number().nullable(),
    }),
  ),
  resources: z.array(resourceUsageSchema),
  logs: z.array(logSchema),
  /** exploratory: found outside the graded code (EDA notebooks, scratch scripts); shown to reviewers, failing no check by default. */
  lint: z.array(z.object({ rule: z.string(), file: z.string(), line: z.number().int(), message: z.string(), code: z.string(), exploratory: z.boolean().optional() })),
  notes: z.string().nullable(),
  /** Raw per-check measurements: rescoring under a new rubric reads only these. */
  measurements: z.record(z.string(), measurementSchema),
  provenance: provenanceSchema,
});

export type ReportDocument = z.infer<typeof reportDocumentSchema>;
export type TopLine = z.infer<typeof topLineSchema>;
export type ScoreDriver = z.infer<typeof scoreDriverSchema>;
export type HoldoutMetrics = z.infer<typeof holdoutMetricsSchema>;
