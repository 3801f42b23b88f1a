import type { CheckId, Measurement } from '../grading/check-catalog.ts';
import { scoreMeasurements, type ManualScore, type ScoredCheck } from '../grading/scoring.ts';
import type { Rubric } from '../rubrics/rubric-schema.ts';
import type { ReportDocument } from '../reports/report-schema.ts';

/**
 * What a rescore changes in a stored report document, computed from its measurements alone:
 * the score fields and the whole checks array. The rest of the document (metrics, logs,
 * measurements, provenance...) is kept as stored; the database merges the two while writing.
 * (Merging per check in SQL was tried: on this hardware jsonb operations per array element cost
 * several times more than parsing the complete checks array sent from here.)
 */
export interface RescorePatch {
  score: number;
  passed: boolean;
  /** Top-level document fields replaced wholesale. */
  fields: Pick<ReportDocument, 'score' | 'automaticScore' | 'manualScore' | 'passed' | 'verdict' | 'categories' | 'status'>;
  checks: ScoredCheck[];
}

const round = (x: number) => Math.round(x * 100) / 100;

/** The same rounding and status rules as a sandbox grading (services/grading/grader.ts). */
export function rescore(
  measurements: Partial<Record<CheckId, Measurement>>,
  rubric: Rubric,
  manual: ManualScore[],
  /** Whether the stored grading produced holdout predictions (otherwise the report stays partial). */
  stored: { hadPredictions: boolean },
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
    checks: scored.checks,
  };
}

/** Check ids a rescore under this rubric needs measurements for. */
export function requiredChecks(rubric: Rubric): string[] {
  return Object.keys(rubric.checks).sort();
}
