import { z } from 'zod';
import type { Basis, Category, CheckStatus, Measurement, MissingPart, Values } from './check-schema.ts';
import type { MeasureContext } from './measure-context.ts';

/**
 * One hidden check: what it measures from a grading (measure, once per sandbox run) and how a
 * measurement turns into a status under the rubric's thresholds (judge, again on every rescore).
 */
export interface Verdict {
  status: Exclude<CheckStatus, 'skipped'>;
  summary: string;
  /** 0..1 for a check scored on a continuous scale (quality.business_cost); else from the status. */
  score?: number;
}

export interface CheckDefinition<T extends z.ZodObject> {
  id: string;
  title: string;
  category: Category;
  basis: Basis;
  /** The optional part of the submission this check is fed by: without it, "not provided". */
  fedBy?: MissingPart;
  /** What a missing part counts as when the rubric does not say (whenMissing): 'fail' unless set. */
  whenMissingDefault?: 'fail' | 'warn';
  /** One paragraph a non-ML reader understands: what is checked and why it matters. */
  explanation: string;
  /** The rubric's thresholds for this check, with defaults and the ranges a rubric is validated against. */
  thresholds: T;
  measure(ctx: MeasureContext): Measurement;
  judge(values: Values, t: z.infer<T>): Verdict;
}

export const defineCheck = <const I extends string, T extends z.ZodObject>(d: CheckDefinition<T> & { id: I }) => d;

// Helpers for judges and their summaries.
export const rate = z.number().min(0).max(1);
export const num = (v: Values, k: string) => (typeof v[k] === 'number' ? (v[k] as number) : NaN);
export const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
export const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');
