import { CHECKS, type CheckId, type Measurement } from '../checks/check-catalog.ts';
import { buildMeasureContext, type MeasureContext, type MeasureInput } from '../checks/measure-context.ts';
import { averagePrecision, balancedAccuracy, cost, downsampleCurve, f1, prCurvePoints, precision, recall, rocAuc } from '../checks/metrics.ts';
import type { HoldoutMetrics } from '../reports/report-schema.ts';
import { NOTEBOOK_RUNS_ID } from '../checks/reproducibility/notebook-runs.ts';

export { evaluateFaultIn, type MeasureInput, type StepOutcome } from '../checks/measure-context.ts';

export interface MeasureOutput {
  measurements: Record<CheckId, Measurement>;
  holdout: HoldoutMetrics | null;
  evaluate: { metric: string; foldScores: number[]; holdout: number | null; holdoutSe: number | null } | null;
}

/**
 * Everything the checks need, measured once from what the sandbox produced and the hidden labels:
 * the shared context first, then each check's own measure() in catalogue order. Scoring under a
 * rubric happens later (scoring.ts) and can be repeated without this step.
 */
export function measure(input: MeasureInput): MeasureOutput {
  const ctx = buildMeasureContext(input);
  // The optional notebook run leaves no measurement when it was not asked for: a regrade under a
  // rubric that asks for it then goes back to the sandbox instead of rescoring a "not measured".
  const checks = CHECKS.filter((c) => c.id !== NOTEBOOK_RUNS_ID || input.notebooks !== undefined);
  const measurements = Object.fromEntries(checks.map((c) => [c.id, c.measure(ctx)])) as Record<CheckId, Measurement>;
  return { measurements, holdout: holdoutMetrics(ctx), evaluate: evaluateSummary(ctx, measurements['cv.estimate_calibrated']) };
}

/** The candidate's own evaluation next to the hidden holdout score cv.estimate_calibrated measured. */
function evaluateSummary({ evaluation: { result } }: MeasureContext, calibrated: Measurement): MeasureOutput['evaluate'] {
  if (!result) return null;
  const { holdout, holdoutSe } = calibrated.ran ? calibrated.values : {};
  return { metric: result.metric, foldScores: result.foldScores, holdout: (holdout as number | undefined) ?? null, holdoutSe: (holdoutSe as number | undefined) ?? null };
}

/** The report's numbers on the hidden holdout (charts, baselines), beside the checks. */
function holdoutMetrics({ input, confusion: c, referenceConfusion: ref, nobodyCost, probs }: MeasureContext): HoldoutMetrics | null {
  if (!c || nobodyCost === null) return null;
  const { truth, manifest } = input;
  const own = cost(c, manifest.costs);
  const curve = probs ? prCurvePoints(truth, probs) : null;
  return {
    rows: truth.length,
    positives: c.tp + c.fn,
    confusion: c,
    businessCost: own,
    costPer1000: (1000 * own) / truth.length,
    balancedAccuracy: balancedAccuracy(c),
    recall: recall(c),
    precision: precision(c),
    f1: f1(c),
    rocAuc: probs ? rocAuc(truth, probs) : null,
    prAuc: probs ? averagePrecision(truth, probs) : null,
    prCurve: curve ? downsampleCurve(curve) : [],
    baselines: {
      majorityCost: nobodyCost,
      referenceCost: ref ? cost(ref, manifest.costs) : null,
      referenceBalancedAccuracy: ref ? balancedAccuracy(ref) : null,
      referenceRecall: ref ? recall(ref) : null,
    },
  };
}
