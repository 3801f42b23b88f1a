import { CHECKS, type CheckId, type Measurement } from '../grading/check-catalog.ts';
import { scoreMeasurements, type ManualScore, type ScoredCheck } from '../grading/scoring.ts';
import type { Rubric } from '../rubrics/rubric-schema.ts';
import type { ReportDocument } from '../reports/report-schema.ts';

/**
 * What a rescore changes in a stored report document, computed from its measurements alone.
 * The catalog text of each check (title, category, explanation: half of a check's bytes) is not
 * repeated per report: the database merges it back in while writing the page (see
 * RegradeRepository.writeRescoredPage), and everything else in the document is kept as stored.
 */
export interface RescorePatch {
  score: number;
  passed: boolean;
  /** Top-level document fields replaced wholesale. */
  fields: Pick<ReportDocument, 'score' | 'automaticScore' | 'manualScore' | 'passed' | 'verdict' | 'categories' | 'status'>;
  /** Per check, in report order: everything except the catalog text. */
  checks: CompactCheck[];
}

export type CompactCheck = Omit<ScoredCheck, 'title' | 'category' | 'explanation'>;

const round = (x: number) => Math.round(x * 100) / 100;

/** The same rounding and status rules as a sandbox grading (services/grading/grader.ts). */
export function rescore(
  measurements: Partial<Record<CheckId, Measurement>>,
  rubric: Rubric,
  manual: ManualScore[],
  stored: { status: ReportDocument['status']; hadPredictions: boolean },
): RescorePatch {
  const scored = scoreMeasurements(measurements, rubric, manual);
  const skipped = scored.checks.some((c) => c.status === 'skipped' && c.id !== 'leakage.target');
  return {
    score: round(scored.score),
    passed: scored.passed,
    fields: {
      score: round(scored.score),
      automaticScore: round(scored.automaticScore),
      manualScore: scored.manualScore,
      passed: scored.passed,
      verdict: scored.verdict,
      categories: scored.categories.map((c) => ({ ...c, score: c.score === null ? null : round(c.score) })),
      status: skipped || !stored.hadPredictions ? 'partial' : 'graded',
    },
    checks: scored.checks.map(({ title: _t, category: _c, explanation: _e, ...rest }) => rest),
  };
}

/** Catalog text of every check, keyed by id: the constant part the database merges back in. */
export function catalogText(): Record<string, { title: string; category: string; explanation: string }> {
  return Object.fromEntries(CHECKS.map((c) => [c.id, { title: c.title, category: c.category, explanation: c.explanation }]));
}

/** Check ids a rescore under this rubric needs measurements for. */
export function requiredChecks(rubric: Rubric): string[] {
  return Object.keys(rubric.checks).sort();
}
