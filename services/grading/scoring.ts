import {
  CATEGORIES,
  CHECKS,
  checkDefinition,
  judgeCheck,
  type Basis,
  type Category,
  type CheckId,
  type CheckStatus,
  type Evidence,
  type Measurement,
  type MissingPart,
} from '../checks/check-catalog.ts';
import { evaluateFaultIn } from './measure.ts';
import type { Rubric } from '../rubrics/rubric-schema.ts';
import type { ReportDocument, TopLine } from '../reports/report-schema.ts';
import { scoreParts, topLine } from './score-drivers.ts';

export interface ScoredCheck {
  id: CheckId;
  title: string;
  category: Category;
  /** What the status stands on: host measurement, in-sandbox evidence, or both. */
  basis: Basis;
  status: CheckStatus;
  /** 0..1, or null when the check is left out of the score. */
  score: number | null;
  weight: number;
  severity: 'critical' | 'major' | 'minor';
  visibility: 'hidden' | 'name' | 'summary' | 'full';
  summary: string;
  explanation: string;
  values: Measurement['values'];
  evidence: Evidence[];
  series?: Measurement['series'];
}

export interface CategoryScore {
  id: Category;
  score: number | null;
  weight: number;
  explanation: string;
}

export interface ManualScore {
  itemId: string;
  points: number;
}

export interface Scored {
  checks: ScoredCheck[];
  categories: CategoryScore[];
  automaticScore: number;
  manualScore: number | null;
  score: number;
  passed: boolean;
  verdict: string;
  /** What most lifted and most lowered the score, in one sentence (score-drivers.ts). */
  topLine: TopLine;
}

const STATUS_SCORE: Record<CheckStatus, number | null> = { pass: 1, warn: 0.5, fail: 0, error: 0, skipped: null };

const CATEGORY_WORDS: Record<Category, string> = {
  leakage: 'whether the model or its evaluation used information it would not have in real use',
  'cross-validation': 'whether the candidate measured their own model honestly and reliably',
  imbalance: 'whether the model actually finds the rare churners rather than ignoring them',
  robustness: 'whether the model keeps working on messy new data',
  engineering: 'whether the code runs as agreed, within limits, and reproducibly',
  production: 'whether the model could ship: fast and lean enough to serve, deciding by what mistakes cost, with probabilities that mean what they say, and how much money it saves',
};

/**
 * Turns stored measurements into statuses and scores under a rubric. Pure: rescoring with a new
 * rubric version is this function on the stored measurements, no sandbox involved.
 */
export function scoreMeasurements(measurements: Partial<Record<CheckId, Measurement>>, rubric: Rubric, manual: ManualScore[] = []): Scored {
  const checks: ScoredCheck[] = [];
  for (const def of CHECKS) {
    const rule = rubric.checks[def.id];
    if (!rule) continue;
    const m = measurements[def.id] ?? { ran: false, reason: 'not measured in this grading', values: {}, evidence: [] };
    const verdict = judgeCheck(def.id, m, rule.thresholds);
    let { status, summary } = verdict;
    const missing = m.ran ? null : m.missing === undefined ? legacyMissingPart(def.id, m, measurements) : m.missing;
    if (status === 'skipped' && missing) {
      const counts = rule.whenMissing ?? ('whenMissingDefault' in def ? def.whenMissingDefault : 'fail');
      if (counts === 'fail' || counts === 'warn') {
        status = counts;
        summary = `not provided: ${summary}`;
      }
    } else if (status === 'skipped' && rule.whenNotRun === 'fail') {
      status = 'fail';
      summary = `required by the rubric but could not run: ${summary}`;
    }
    checks.push({
      id: def.id,
      title: def.title,
      category: def.category,
      basis: def.basis,
      status,
      score: verdict.status === status && verdict.score !== undefined ? verdict.score : STATUS_SCORE[status],
      weight: rule.weight,
      severity: rule.severity,
      visibility: rule.visibility,
      summary,
      explanation: def.explanation,
      values: m.values,
      evidence: m.evidence,
      ...(m.series ? { series: m.series } : {}),
    });
  }
  const weighted = (list: ScoredCheck[]) => {
    const scored = list.filter((c) => c.score !== null && c.weight > 0);
    const w = scored.reduce((s, c) => s + c.weight, 0);
    return w === 0 ? null : (100 * scored.reduce((s, c) => s + c.weight * c.score!, 0)) / w;
  };
  const categories: CategoryScore[] = CATEGORIES.map((cat) => {
    const list = checks.filter((c) => c.category === cat);
    const score = weighted(list);
    return { id: cat, score, weight: list.reduce((s, c) => s + c.weight, 0), explanation: explainCategory(cat, list, score) };
  }).filter((c) => c.weight > 0);

  const automaticScore = weighted(checks) ?? 0;
  const manualScore = scoreManual(rubric, manual);
  const score = manualScore === null ? automaticScore : (1 - rubric.manual.weight) * automaticScore + rubric.manual.weight * manualScore;
  const criticalFails = checks.filter((c) => c.severity === 'critical' && c.status === 'fail');
  const passed = score >= rubric.passMark && criticalFails.length === 0;
  const verdict = passed
    ? `Passed with ${score.toFixed(0)}/100 (pass mark ${rubric.passMark}).`
    : criticalFails.length > 0
      ? `Not passed: critical check(s) failed — ${criticalFails.map((c) => c.title.toLowerCase()).join('; ')}. Score ${score.toFixed(0)}/100.`
      : `Not passed: ${score.toFixed(0)}/100 is below the pass mark of ${rubric.passMark}.`;
  return { checks, categories, automaticScore, manualScore, score, passed, verdict, topLine: topLine(scoreParts(checks, rubric.manual, manual)) };
}

/**
 * The part the candidate did not provide, for a measurement stored before measurements recorded
 * `missing`, read from the reason measure.ts wrote then. Only the checks fed by evaluate() can
 * have one. "the submission has no evaluate() function" was also written when solution.py did not
 * import: it counts only when the stored contract check lists the module's functions (the module
 * imported) with at least one present. Other reasons count when they are the harness's words for
 * evaluate() failing by itself (measure.evaluateFaultIn); anything else stays a plain "not run".
 */
export function legacyMissingPart(id: CheckId, m: Measurement, all: Partial<Record<CheckId, Measurement>>): MissingPart | null {
  if (m.ran || checkDefinition(id).fedBy !== 'evaluate' || !m.reason) return null;
  if (m.reason === 'the submission has no evaluate() function') {
    const found = all['contract.interface']?.evidence.find((e) => e.label === 'Functions found')?.detail ?? '';
    return /\bevaluate: no\b/.test(found) && /: yes\b/.test(found) ? 'evaluate' : null;
  }
  return evaluateFaultIn(m.reason) ? 'evaluate' : null;
}

function scoreManual(rubric: Rubric, manual: ManualScore[]): number | null {
  if (rubric.manual.weight === 0 || rubric.manual.items.length === 0) return null;
  let got = 0;
  let max = 0;
  for (const item of rubric.manual.items) {
    const s = manual.find((m) => m.itemId === item.id);
    if (!s) continue;
    got += Math.min(item.maxPoints, Math.max(0, s.points));
    max += item.maxPoints;
  }
  return max === 0 ? null : (100 * got) / max;
}

function explainCategory(cat: Category, list: ScoredCheck[], score: number | null): string {
  const failed = list.filter((c) => c.status === 'fail' || c.status === 'error');
  const warned = list.filter((c) => c.status === 'warn');
  const skipped = list.filter((c) => c.status === 'skipped');
  const head = `This part looks at ${CATEGORY_WORDS[cat]}.`;
  if (score === null) return `${head} None of its checks could run (${skipped.map((c) => c.summary).join('; ')}).`;
  const parts = [`${head} Score ${score.toFixed(0)}/100.`];
  if (failed.length) parts.push(`Problems: ${failed.map((c) => `${c.title} — ${c.summary}`).join('; ')}.`);
  if (warned.length) parts.push(`Worth a look: ${warned.map((c) => `${c.title} — ${c.summary}`).join('; ')}.`);
  if (!failed.length && !warned.length) parts.push('Every check here passed.');
  if (skipped.length) parts.push(`Not run: ${skipped.map((c) => c.title).join(', ')}.`);
  return parts.join(' ');
}

/**
 * The score fields and checks of a report document: what a sandbox grading writes and what a
 * rescore replaces (the rest of a stored document, metrics, logs, measurements, provenance, is
 * kept; the database merges the two while writing. Merging per check in SQL was tried: on this
 * hardware jsonb operations per array element cost several times more than parsing the complete
 * checks array sent from here).
 */
export interface ReportScores {
  score: number;
  passed: boolean;
  /** Top-level document fields, replaced wholesale by a rescore. */
  fields: Pick<ReportDocument, 'score' | 'automaticScore' | 'manualScore' | 'passed' | 'verdict' | 'topLine' | 'categories' | 'status'>;
  checks: ScoredCheck[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Scores measurements for a report, with the report's rounding and status rules. `hadPredictions`:
 * whether the grading produced holdout predictions (otherwise the report stays partial).
 */
export function reportScores(measurements: Partial<Record<CheckId, Measurement>>, rubric: Rubric, manual: ManualScore[], grading: { hadPredictions: boolean }): ReportScores {
  const scored = scoreMeasurements(measurements, rubric, manual);
  const skipped = scored.checks.some((c) => c.status === 'skipped' && c.id !== 'leakage.target');
  return {
    score: round2(scored.score),
    passed: scored.passed,
    fields: {
      score: round2(scored.score),
      automaticScore: round2(scored.automaticScore),
      manualScore: scored.manualScore,
      passed: scored.passed,
      verdict: scored.verdict,
      topLine: scored.topLine,
      categories: scored.categories.map((c) => ({ ...c, score: c.score === null ? null : round2(c.score) })),
      status: skipped || !grading.hadPredictions ? 'partial' : 'graded',
    },
    checks: scored.checks,
  };
}
