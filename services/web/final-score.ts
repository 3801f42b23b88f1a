import type { CheckId, Measurement } from '../checks/check-catalog.ts';
import { scoreMeasurements, type CategoryScore, type ScoredCheck } from '../grading/scoring.ts';
import type { ReportDocument, TopLine } from '../reports/report-schema.ts';
import type { Rubric } from '../rubrics/rubric-schema.ts';
import type { ManualScoreRow } from './manual-score-repository.ts';

export interface FinalScore {
  automaticScore: number;
  manualScore: number | null;
  score: number;
  passed: boolean;
  verdict: string;
  /** What most lifted and most lowered this score (current manual scores included); reviewers only. */
  topLine: TopLine;
  manualWeight: number;
  /** Manual items of the rubric that have a score, of how many. */
  manualScored: number;
  manualTotal: number;
  /** The rubric weighs manual items and some are not scored yet: the verdict may still change. */
  provisional: boolean;
  /** The checks and categories behind this score (for a report stored under older scoring rules they differ from the stored ones). */
  checks: ScoredCheck[];
  categories: CategoryScore[];
}

/**
 * The verdict as a sentence that names what failed: "Not passed: failed Target leakage (uses a
 * column recorded after the outcome)". (The stored report's sentence listed the titles after
 * "critical check(s) failed —", which read as if the failure were the title's claim.)
 */
export function verdictSentence(s: Pick<ReturnType<typeof scoreMeasurements>, 'checks' | 'passed' | 'score'>, passMark: number): string {
  const score = `${s.score.toFixed(0)}/100`;
  if (s.passed) return `Passed with ${score} (pass mark ${passMark}).`;
  const critical = s.checks.filter((c) => c.severity === 'critical' && c.status === 'fail');
  if (critical.length) return `Not passed: failed ${critical.map((c) => `${c.title} (${c.summary.replace(/\.$/, '')})`).join('; ')}. Score ${score}.`;
  return `Not passed: ${score} is below the pass mark of ${passMark}.`;
}

/**
 * The score a reviewer sees: the report's stored measurements scored under the rubric version the
 * report was graded with, plus the current manual item scores, combined as that rubric says.
 * Only items of that rubric count; a score for an item it no longer has is ignored.
 */
export function finalScore(doc: ReportDocument, rubric: Rubric, manual: Pick<ManualScoreRow, 'itemId' | 'points'>[]): FinalScore {
  const items = new Set(rubric.manual.items.map((i) => i.id));
  const counted = manual.filter((m) => items.has(m.itemId));
  const scored = scoreMeasurements(
    doc.measurements as Partial<Record<CheckId, Measurement>>,
    rubric,
    counted.map((m) => ({ itemId: m.itemId, points: m.points })),
  );
  const manualScored = new Set(counted.map((m) => m.itemId)).size;
  return {
    automaticScore: scored.automaticScore,
    manualScore: scored.manualScore,
    score: scored.score,
    passed: scored.passed,
    verdict: verdictSentence(scored, rubric.passMark),
    topLine: scored.topLine,
    manualWeight: rubric.manual.weight,
    manualScored,
    manualTotal: items.size,
    provisional: rubric.manual.weight > 0 && manualScored < items.size,
    checks: scored.checks,
    categories: scored.categories,
  };
}
